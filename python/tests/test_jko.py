"""fs.jko against `flowsampler jko`: the same options give the same cloud and records."""
import json

import numpy as np
import pytest

import flowsampler as fs
from conftest import TARGETS


def cli_jko(cli, tmp_path, data, *flags):
    np.save(tmp_path / "x0.npy", data)
    cli("jko", "--data", tmp_path / "x0.npy", "--out", tmp_path / "xk.npy", "--report", tmp_path / "r.json", *flags)
    return np.load(tmp_path / "xk.npy"), json.loads((tmp_path / "r.json").read_text())["records"]


def without_timing(records):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


@pytest.mark.parametrize(
    "kwargs, flags",
    [
        (dict(h=0.2, steps=3), ["--to-normal", "--h", "0.2", "--steps", "3"]),
        (dict(target=str(TARGETS / "two_blobs.json"), h=0.1, steps=2, estimator="blob", diagnostic_points=64),
         ["--target", TARGETS / "two_blobs.json", "--h", "0.1", "--steps", "2", "--estimator", "blob",
          "--diagnostic-points", "64"]),
    ],
    ids=["to-normal", "target-blob"],
)
def test_jko_equals_the_cli(cli, tmp_path, kwargs, flags):
    data = np.random.default_rng(2).normal(loc=2.0, scale=0.5, size=(200, 2))
    x, records = fs.jko(data, records=True, **kwargs)
    ref, ref_records = cli_jko(cli, tmp_path, data, *flags)
    np.testing.assert_array_equal(x, ref)
    assert without_timing(records) == without_timing(ref_records)


def test_jko_to_a_gaussian_contracts_the_bures_distance():
    # Towards N(0, I) the KL gradient flow decreases W2 to pi step after step (an
    # independent check: the records' Bures W2 is recomputed from the moments).
    data = np.random.default_rng(4).normal(loc=1.5, scale=0.6, size=(400, 2))
    x, records = fs.jko(data, h=0.3, steps=4, records=True)
    w2 = [r["w2_bures"] for r in records]
    assert all(b < a for a, b in zip(w2, w2[1:]))
    m, c = fs.metrics.moments(x, unbiased=False)
    assert fs.metrics.bures_w2_squared(m, c.ravel(), [0, 0], [1, 0, 0, 1]) ** 0.5 == pytest.approx(w2[-1], rel=1e-2)


def test_bad_jko_input_raises_naming_the_option():
    with pytest.raises(fs.Error, match="--estimator"):
        fs.jko(np.zeros((10, 2)) + np.arange(10)[:, None], estimator="knn")
    with pytest.raises(fs.Error, match="--data: data needs at least 2 particles"):
        fs.jko(np.zeros((1, 2)))
