"""fs.jko(..., model=True) and fs.JkoFlowModel against `flowsampler jko --model` and
`jko-sample`: the same clouds, inversion error and samples; model directories written by either
side load in the other."""
import json

import numpy as np
import pytest

import flowsampler as fs


@pytest.fixture
def data():
    return np.random.default_rng(2).normal(loc=2.0, scale=0.5, size=(120, 2))


def cli_model(cli, tmp_path, data, *flags):
    np.save(tmp_path / "x0.npy", data)
    cli("jko", "--data", tmp_path / "x0.npy", "--to-normal", "--model", tmp_path / "cli_model", "--out", tmp_path / "xk.npy",
        "--report", tmp_path / "r.json", *flags)
    return tmp_path / "cli_model", json.loads((tmp_path / "r.json").read_text())


def without_timing(records):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


def test_the_model_equals_the_clis(cli, tmp_path, data):
    model, records = fs.jko(data, h=0.2, steps=3, model=True, records=True)
    cli_dir, report = cli_model(cli, tmp_path, data, "--h", "0.2", "--steps", "3")
    assert isinstance(model, fs.JkoFlowModel)
    assert (len(model.clouds), model.steps, model.dim, model.precision) == (4, [0.2] * 3, 2, "double")
    np.testing.assert_array_equal(model.clouds[0], data)
    np.testing.assert_array_equal(model.clouds[-1], np.load(tmp_path / "xk.npy"))
    assert without_timing(records) == without_timing(model.records) == without_timing(report["records"])
    assert model.inversion_error() == report["inversion_error"]
    loaded = fs.JkoFlowModel.load(cli_dir)
    for a, b in zip(model.clouds, loaded.clouds):
        np.testing.assert_array_equal(a, b)
    # save() writes the CLI's directory, file for file.
    model.save(tmp_path / "py_model")
    for f in sorted(p.name for p in cli_dir.iterdir()):
        assert (tmp_path / "py_model" / f).read_bytes() == (cli_dir / f).read_bytes(), f


def test_generate_equals_jko_sample_both_ways(cli, tmp_path, data):
    model = fs.jko(data, h=0.2, steps=2, model=True)
    model.save(tmp_path / "py_model")
    cli("jko-sample", "--model", tmp_path / "py_model", "--n", 50, "--seed", 4, "--out", tmp_path / "y.npy")
    np.testing.assert_array_equal(model.generate(50, seed=4), np.load(tmp_path / "y.npy"))

    cli_dir, _ = cli_model(cli, tmp_path, data, "--h", "0.3", "--steps", "2", "--precision", "float")
    cli("jko-sample", "--model", cli_dir, "--n", 30, "--seed", 1, "--precision", "float", "--out", tmp_path / "y32.npy")
    loaded = fs.JkoFlowModel.load(cli_dir, precision="float")
    y = loaded.generate(30, seed=1)
    assert (y.dtype, loaded.records) == (np.float32, None)
    np.testing.assert_array_equal(y, np.load(tmp_path / "y32.npy"))


def test_the_reverse_steps_run_the_clouds_back(data):
    model = fs.jko(data, h=0.2, steps=3, model=True)
    c = model.clouds
    back = model.reverse(c[-1])
    # The inversion error recomputed: small (the solver's residual), relative to the data's spread.
    rms = np.sqrt(np.mean(np.sum((back - c[0]) ** 2, axis=1)))
    relative = rms / np.sqrt(np.mean(np.sum((c[0] - c[0].mean(axis=0)) ** 2, axis=1)))
    error = model.inversion_error()
    assert (rms, relative) == (pytest.approx(error["rms"], rel=1e-9), pytest.approx(error["relative"], rel=1e-9))
    assert relative < 1e-2
    np.testing.assert_allclose(model.reverse_step(2, c[3]), c[2], atol=1e-4)
    # Fresh draws of pi = N(0, I) run back move towards the data (mean near (2, 2)).
    y = model.generate(2000, seed=0)
    assert np.linalg.norm(y.mean(axis=0) - data.mean(axis=0)) < 0.8 * np.linalg.norm(data.mean(axis=0))


def test_bad_model_input_raises():
    data = np.random.default_rng(1).normal(size=(20, 2))
    with pytest.raises(fs.Error, match="--model: the reverse process inverts backward"):
        fs.jko(data, steps=1, explicit=True, model=True)
    model = fs.jko(data, steps=1, model=True)
    with pytest.raises(fs.Error, match="k: expected 0..0, got 1"):
        model.reverse_step(1, data)
    with pytest.raises(fs.Error, match="y: d = 3, the model has d = 2"):
        model.reverse(np.zeros((4, 3)))
    with pytest.raises(fs.Error, match="precision: expected float or double"):
        fs.JkoFlowModel.load("anywhere", precision="half")
