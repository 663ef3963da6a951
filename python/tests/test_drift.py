"""fs.drift against `flowsampler drift`: the same options and seed give the same particles and records."""
import json

import numpy as np
import pytest

import flowsampler as fs
from conftest import TARGETS

BLOBS = TARGETS / "two_blobs.json"


@pytest.fixture
def start_and_data():
    rng = np.random.default_rng(5)
    return rng.normal(size=(300, 2)).astype(np.float32), rng.normal(loc=1.0, size=(200, 2)).astype(np.float32)


def cli_drift(cli, tmp_path, x, data=None, **options):
    np.save(tmp_path / "x0.npy", x)
    args = ["drift", "--x", tmp_path / "x0.npy", "--out", tmp_path / "x1.npy", "--report", tmp_path / "r.json"]
    if data is not None:
        np.save(tmp_path / "data.npy", data)
        args += ["--data", tmp_path / "data.npy"]
    for key, value in options.items():
        args += ["--" + key.replace("_", "-"), value]
    cli(*args)
    return np.load(tmp_path / "x1.npy"), json.loads((tmp_path / "r.json").read_text())["records"]


@pytest.mark.parametrize(
    "options",
    [
        dict(field="mean-shift", eps=0.5, steps=20, dt=0.2),
        dict(field="drifting", steps=15, dt=0.1, integrator="heun", every=5),
        dict(field="mmd", kernel="gaussian", eps=1.0, steps=10, dt=0.5, precision="double"),
        dict(field="drifting", steps=10, batch=50, seed=3),
    ],
    ids=["mean-shift", "drifting-heun", "mmd-double", "batch"],
)
def test_drift_equals_the_cli(cli, tmp_path, start_and_data, options):
    x0, data = start_and_data
    x1, records = fs.drift(x0, data=data, records=True, **options)
    ref, ref_records = cli_drift(cli, tmp_path, x0, data, **options)
    np.testing.assert_array_equal(x1, ref)
    assert records == ref_records
    assert np.all(x0 == start_and_data[0])  # the caller's array did not move


def test_svgd_with_a_target_equals_the_cli(cli, tmp_path, start_and_data):
    x0, _ = start_and_data
    x1 = fs.drift(x0, field="svgd", target=str(BLOBS), eps=0.5, steps=10, dt=0.05)
    ref, _ = cli_drift(cli, tmp_path, x0, target=BLOBS, field="svgd", eps=0.5, steps=10, dt=0.05)
    np.testing.assert_array_equal(x1, ref)


def test_mean_shift_onto_one_point_moves_by_the_closed_form():
    # One data point y: mean shift is dx/dt = y - x, so x(t) = y + (x0 - y) e^-t; Euler
    # with step dt multiplies x0 - y by (1 - dt) per step.
    x0 = np.array([[0.0, 0.0], [2.0, -1.0], [1.0, 3.0]])
    y = np.array([[1.0, 1.0]])
    x1 = fs.drift(x0, field="mean-shift", data=y, steps=10, dt=0.1, precision="double")
    np.testing.assert_allclose(x1, y + (x0 - y) * 0.9**10, rtol=1e-12)


def test_bad_drift_input_raises_the_clis_message(cli, tmp_path, start_and_data):
    x0, data = start_and_data
    np.save(tmp_path / "x0.npy", x0)
    p = cli("drift", "--x", tmp_path / "x0.npy", "--out", tmp_path / "x1.npy", "--field", "magnetic", check=False)
    assert p.returncode == 2
    with pytest.raises(fs.Error) as e:
        fs.drift(x0, field="magnetic", data=data)
    assert str(e.value) == p.stderr.strip().removeprefix("flowsampler: ")
    with pytest.raises(fs.Error, match="svgd: needs --target"):
        fs.drift(x0, field="svgd")
    with pytest.raises(fs.Error, match="--data: d = 3"):
        fs.drift(x0, field="mean-shift", data=np.zeros((5, 3)))
