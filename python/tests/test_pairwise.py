"""fs.pairwise against direct numpy double loops over the N x M pairs."""
import numpy as np
import pytest

import flowsampler as fs


def kernel(kind, r, h):
    return {"gaussian": np.exp(-r**2 / (2 * h**2)), "laplace": np.exp(-r / h), "imq": (1 + r**2 / h**2) ** -0.5,
            "energy": -r / h}[kind]


def kernel_grad(kind, diff, h):
    # grad_x k(|x - y|) for diff = x - y.
    r = np.linalg.norm(diff)
    if kind == "gaussian":
        return -diff / h**2 * np.exp(-r**2 / (2 * h**2))
    if kind == "imq":
        return -diff / h**2 * (1 + r**2 / h**2) ** -1.5
    if r == 0:
        return np.zeros_like(diff)
    return -diff / (r * h) * (np.exp(-r / h) if kind == "laplace" else 1.0)


@pytest.fixture
def xyw():
    rng = np.random.default_rng(11)
    return rng.normal(size=(23, 3)), rng.normal(loc=0.3, size=(17, 3)), rng.uniform(0.5, 2.0, size=17)


@pytest.mark.parametrize("kind", ["gaussian", "laplace", "imq", "energy"])
def test_kernel_sums_equal_a_double_loop(xyw, kind):
    x, y, w = xyw
    h = 0.8
    ref = np.array([sum(w[j] * kernel(kind, np.linalg.norm(x[i] - y[j]), h) for j in range(len(y))) for i in range(len(x))])
    np.testing.assert_allclose(fs.pairwise.kernel_sum(x, y, kernel=kind, bandwidth=h, weights=w), ref, rtol=1e-12, atol=1e-12)
    grad = np.array([sum(w[j] * kernel_grad(kind, x[i] - y[j], h) for j in range(len(y))) for i in range(len(x))])
    np.testing.assert_allclose(fs.pairwise.kernel_grad_sum(x, y, kernel=kind, bandwidth=h, weights=w), grad, rtol=1e-10,
                               atol=1e-12)


def test_mean_shift_and_softmin_equal_a_double_loop(xyw):
    x, y, w = xyw
    lw = np.log(w)
    mean, lse = fs.pairwise.mean_shift(x, y, kernel="gaussian", bandwidth=0.7, log_weights=lw)
    for i in range(len(x)):
        logits = np.array([-np.sum((x[i] - y[j]) ** 2) / (2 * 0.7**2) + lw[j] for j in range(len(y))])
        p = np.exp(logits - logits.max())
        assert lse[i] == pytest.approx(logits.max() + np.log(p.sum()), rel=1e-12)
        np.testing.assert_allclose(mean[i], (p / p.sum()) @ (y - x[i]), rtol=1e-10, atol=1e-12)
    sm, slse = fs.pairwise.softmin_sqdist(x, y, eps=0.5, log_weights=lw)
    for i in range(len(x)):
        d2 = np.sum((x[i] - y) ** 2, axis=1)
        logits = -d2 / 0.5 + lw
        p = np.exp(logits - logits.max())
        assert slse[i] == pytest.approx(logits.max() + np.log(p.sum()), rel=1e-12)
        assert sm[i] == pytest.approx((p / p.sum()) @ d2, rel=1e-10)


def test_mean_shift_can_leave_out_the_pairs_of_a_point_with_itself(xyw):
    x = xyw[0]
    mean, _ = fs.pairwise.mean_shift(x, x, kernel="laplace", bandwidth=1.0, exclude_self=True)
    for i in range(len(x)):
        others = np.delete(x, i, axis=0)
        p = np.exp(-np.linalg.norm(x[i] - others, axis=1))
        np.testing.assert_allclose(mean[i], (p / p.sum()) @ (others - x[i]), rtol=1e-10, atol=1e-12)


def test_nearest_neighbours_equal_a_sort(xyw):
    x, y, _ = xyw
    d2, index = fs.pairwise.kmin_sqdist(x, y, k=4)
    full = ((x[:, None, :] - y[None, :, :]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(index, np.argsort(full, axis=1, kind="stable")[:, :4])
    np.testing.assert_allclose(d2, np.sort(full, axis=1)[:, :4], rtol=1e-12)
    # More neighbours than points: the missing ones are inf and -1.
    d2, index = fs.pairwise.kmin_sqdist(x, y[:2], k=3)
    assert np.all(np.isinf(d2[:, 2])) and np.all(index[:, 2] == -1)


def test_float32_in_float32_out(xyw):
    x, y, _ = xyw
    s = fs.pairwise.kernel_sum(x.astype(np.float32), y.astype(np.float32))
    assert s.dtype == np.float32
    np.testing.assert_allclose(s, fs.pairwise.kernel_sum(x, y), rtol=1e-5)


def test_bad_pairwise_input_raises(xyw):
    x, y, w = xyw
    with pytest.raises(fs.Error, match="kernel"):
        fs.pairwise.kernel_sum(x, y, kernel="cauchy")
    with pytest.raises(fs.Error, match="bandwidth: expected > 0"):
        fs.pairwise.kernel_sum(x, y, bandwidth=0)
    with pytest.raises(fs.Error, match=r"weights: expected shape \(17,\)"):
        fs.pairwise.kernel_sum(x, y, weights=w[:5])
    with pytest.raises(fs.Error, match="y: has d = 2, x has d = 3"):
        fs.pairwise.kmin_sqdist(x, y[:, :2], k=1)
    with pytest.raises(fs.Error, match="k: expected 1..32"):
        fs.pairwise.kmin_sqdist(x, y, k=33)
    with pytest.raises(fs.Error):
        fs.pairwise.mean_shift(x, y, kernel="imq")
