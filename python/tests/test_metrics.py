"""fs.metrics: values equal `flowsampler metrics` on the same .npy, independent references where
one exists, arrays read in place when their layout is the library's."""
import itertools
import json

import numpy as np
import pytest

import flowsampler as fs


def cli_metrics(cli, tmp_path, x, y, *flags):
    np.save(tmp_path / "x.npy", np.ascontiguousarray(x))
    np.save(tmp_path / "y.npy", np.ascontiguousarray(y))
    p = cli("metrics", "--x", tmp_path / "x.npy", "--y", tmp_path / "y.npy", "--backend", "cpu", *flags)
    return json.loads(p.stdout)["metrics"]


@pytest.mark.parametrize("order", ["F", "C"])
def test_values_equal_the_clis(cli, tmp_path, clouds, order):
    x, y = (np.asarray(a, order=order) for a in clouds)
    ctx = fs.Context("cpu")
    m = cli_metrics(cli, tmp_path, x, y, "--bures", "--energy", "--mmd", "gaussian:0.5", "--mmd", "laplace:2",
                    "--unbiased", "--sliced-w2", "64", "--sinkhorn", "0.5", "--entropy", "--kl", "--seed", "3")
    assert fs.metrics.gelbrich_w2_squared(x, y, context=ctx) == m["bures_w2_squared"]
    assert fs.metrics.energy_distance(x, y, context=ctx) == m["energy_distance"]
    assert fs.metrics.mmd_squared(x, y, kernel="gaussian", bandwidth=0.5, unbiased=True,
                                  context=ctx) == m["mmd2 gaussian:0.5 unbiased"]
    assert fs.metrics.mmd_squared(x, y, kernel="laplace", bandwidth=2, unbiased=True,
                                  context=ctx) == m["mmd2 laplace:2 unbiased"]
    sw, se = fs.metrics.sliced_w2(x, y, projections=64, seed=3, context=ctx)
    assert (sw, se) == (m["sliced_w2_squared"], m["sliced_w2_std_error"])
    s = fs.metrics.sinkhorn(x, y, eps=0.5, context=ctx)
    ref = m["sinkhorn"]
    assert (s.ot, s.cost, s.divergence, s.iterations, s.stages) == (
        ref["ot_eps"], ref["transport_cost"], ref["divergence"], ref["iterations"], ref["eps_stages"])
    assert s.f.shape == (300,) and s.g.shape == (257,)
    assert fs.metrics.knn_entropy(x, context=ctx) == m["knn_entropy"]
    assert fs.metrics.knn_kl_divergence(x, y, context=ctx) == m["kl"]


def test_paired_metrics_equal_the_clis(cli, tmp_path, clouds):
    x = clouds[0][:200]
    y = x + np.random.default_rng(1).normal(scale=0.1, size=x.shape)
    m = cli_metrics(cli, tmp_path, x, y, "--exact-w2", "--map-distance")
    cost, match = fs.metrics.exact_w2_squared(x, y)
    assert cost == m["exact_w2_squared"] and sorted(match) == list(range(200))
    assert fs.metrics.map_distance(x, y) == (m["map_distance_l2"], m["map_distance_max"])
    d = np.linalg.norm(x - y, axis=1)  # independent reference
    assert fs.metrics.map_distance(x, y) == pytest.approx((np.sqrt(np.mean(d**2)), d.max()), rel=1e-12)


def test_moments_and_exact_w2_equal_independent_references(clouds):
    x, _ = clouds
    mean, cov = fs.metrics.moments(x)
    np.testing.assert_allclose(mean, x.mean(axis=0), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(cov, np.cov(x, rowvar=False), rtol=1e-12)
    np.testing.assert_allclose(fs.metrics.covariance(x, unbiased=False), np.cov(x, rowvar=False, bias=True), rtol=1e-12)
    # W2^2 of two 6-point clouds by enumerating all 720 assignments.
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    best = min(np.mean(np.sum((a - b[list(p)]) ** 2, axis=1)) for p in itertools.permutations(range(6)))
    assert fs.metrics.exact_w2_squared(a, b)[0] == pytest.approx(best, rel=1e-12)
    # Bures W2^2 of N(0, I) and N(m, 4 I) in 2-D: |m|^2 + 2 (1 + 4 - 2 * 2) = |m|^2 + 2.
    assert fs.metrics.bures_w2_squared([0, 0], [1, 0, 0, 1], [1, 2], [4, 0, 0, 4]) == pytest.approx(7.0, rel=1e-12)


def test_float32_clouds_compute_in_float32_and_mixed_in_float64(clouds):
    x, y = clouds
    x32, y32 = np.asfortranarray(x, dtype=np.float32), np.asfortranarray(y, dtype=np.float32)
    e32 = fs.metrics.energy_distance(x32, y32)
    e64 = fs.metrics.energy_distance(x32.astype(np.float64), y32.astype(np.float64))
    assert e32 != e64 and e32 == pytest.approx(e64, rel=1e-4)
    assert fs.metrics.energy_distance(x32, y32.astype(np.float64)) == e64


def test_fortran_arrays_are_read_in_place_and_c_arrays_copied_once(clouds):
    x, _ = clouds
    assert fs.metrics.zero_copy(x, fs.Context("cpu")) == (True, x.ctypes.data)
    x32 = np.asfortranarray(x, dtype=np.float32)
    assert fs.metrics.zero_copy(x32, fs.Context("cpu")) == (True, x32.ctypes.data)
    c = np.ascontiguousarray(x)
    in_place, at = fs.metrics.zero_copy(c, fs.Context("cpu"))
    assert not in_place and at != c.ctypes.data
    # A column (N, 1) and a vector (N,) are contiguous either way.
    assert fs.metrics.zero_copy(c[:, :1].copy(), fs.Context("cpu"))[0]
    v = x[:, 0].copy()
    assert fs.metrics.zero_copy(v, fs.Context("cpu")) == (True, v.ctypes.data)
    # Strided views are copied, and give the same values as their copies.
    s = x[::2]
    assert not fs.metrics.zero_copy(s, fs.Context("cpu"))[0]
    np.testing.assert_array_equal(fs.metrics.mean(s), fs.metrics.mean(np.asfortranarray(s)))


def test_a_torch_cpu_tensor_is_read_without_a_copy(clouds):
    torch = pytest.importorskip("torch")
    x, y = clouds
    t = torch.from_numpy(np.ascontiguousarray(x.T)).T  # (N, d), column-major memory
    assert fs.metrics.zero_copy(t, fs.Context("cpu")) == (True, t.data_ptr())
    assert fs.metrics.sinkhorn(t, y, eps=0.5).divergence == fs.metrics.sinkhorn(x, y, eps=0.5).divergence


@pytest.mark.parametrize(
    "x, message",
    [
        (np.array([[0.0, 1.0], [np.nan, 2.0], [1.0, 1.0]]), "x: row 1, column 0 holds nan; particles must be finite"),
        (np.zeros((3, 2), dtype=np.int64), "x: expected float32 or float64 values"),
        (np.zeros((3, 2, 2)), "x: expected shape (N, d) or (N,), got 3 dimensions"),
        (np.zeros((3, 0)), "x: shape (N, d) needs d >= 1, got d = 0"),
    ],
    ids=["nan", "int", "3-d", "d=0"],
)
def test_bad_arrays_raise_naming_the_argument(x, message):
    with pytest.raises(fs.Error) as e:
        fs.metrics.mean(x)
    assert str(e.value).startswith(message)


def test_library_errors_carry_the_librarys_message(clouds):
    x, y = clouds
    with pytest.raises(fs.Error, match="y: has d = 2, x has d = 3"):
        fs.metrics.energy_distance(x, y[:, :2])
    with pytest.raises(fs.Error, match="eps"):
        fs.metrics.sinkhorn(x, y, eps=-1.0)
    with pytest.raises(fs.Error, match="kernel"):
        fs.metrics.mmd_squared(x, y, kernel="cauchy")
    with pytest.raises(fs.Error, match="exact_w2: needs equal sizes"):
        fs.metrics.exact_w2_squared(x, y)
    with pytest.raises(fs.Error, match="backend"):
        fs.Context("tpu")
