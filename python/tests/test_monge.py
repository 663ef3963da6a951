"""fs.monge and fs.MongeMap against `flowsampler monge` / `monge-apply`: the same options and
seed give the same map, and maps saved by either side load in the other."""
import json

import numpy as np
import pytest

import flowsampler as fs
from conftest import assert_releases_the_gil

SOURCE = {"type": "gaussian_mixture", "dim": 2, "weights": [1], "means": [[2, -1]], "covariances": [[[0.5, 0.1], [0.1, 0.3]]]}
TARGET = {"type": "gaussian_mixture", "dim": 2, "weights": [1], "means": [[0, 0]], "covariances": [1.0]}
# Small enough for a fraction of a second per run.
QUICK = dict(potential="icnn", widths=[6, 6], tau=0.5, steps=2, inner=5, lr=0.05, batch=64, eval_points=200, seed=1)


@pytest.fixture
def specs(tmp_path):
    (tmp_path / "src.json").write_text(json.dumps(SOURCE))
    (tmp_path / "tgt.json").write_text(json.dumps(TARGET))
    return str(tmp_path / "src.json"), str(tmp_path / "tgt.json")


@pytest.fixture
def points():
    return np.random.default_rng(3).normal(size=(40, 2))


def flags(options):
    args = []
    for key, value in options.items():
        args += ["--" + key.replace("_", "-"), ",".join(map(str, value)) if isinstance(value, list) else value]
    return args


def cli_monge(cli, tmp_path, source, target, **options):
    cli("monge", "--source", source, "--target", target, *flags(options), "--out", tmp_path / "cli_map",
        "--report", tmp_path / "r.json")
    return tmp_path / "cli_map", json.loads((tmp_path / "r.json").read_text())


def without_timing(report):
    drop = {"seconds", "train_seconds", "wall_seconds", "map"}
    out = {k: v for k, v in report.items() if k not in drop}
    out["records"] = [{k: v for k, v in r.items() if k != "seconds"} for r in report["records"]]
    return out


@pytest.mark.parametrize(
    "options",
    [
        QUICK,
        dict(potential="lse", pieces=16, method="explicit", functional="mmd", target_samples=300, steps=2, inner=5,
             eval_points=0),
        dict(QUICK, method="euclidean", functional="sinkhorn", target_samples=200, steps=3),
        dict(QUICK, estimator="kde-corrected", bandwidth=0.4),
    ],
    ids=["icnn-implicit-kl", "lse-explicit-mmd", "icnn-euclidean-sinkhorn", "kl-kde-corrected"],
)
def test_monge_equals_the_cli(cli, tmp_path, specs, options):
    source, target = specs
    m = fs.monge(source, target, **options)
    cli_dir, cli_report = cli_monge(cli, tmp_path, source, target, **options)
    np.testing.assert_array_equal(m.params, fs.MongeMap.load(cli_dir).params)
    assert without_timing(m.report) == without_timing(cli_report)
    assert m.info == json.loads((cli_dir / "manifest.json").read_text())["info"]


def test_a_cloud_source_and_samples_target_equal_the_cli(cli, tmp_path):
    rng = np.random.default_rng(8)
    x, y = rng.normal(loc=1.0, size=(150, 2)), rng.normal(scale=0.7, size=(120, 2))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    options = dict(QUICK, functional="mmd")
    m = fs.monge(x, y, **options)
    cli_dir, cli_report = cli_monge(cli, tmp_path, tmp_path / "x.npy", tmp_path / "y.npy", **options)
    np.testing.assert_array_equal(m.params, fs.MongeMap.load(cli_dir).params)
    assert m.report["source_points"] == cli_report["source_points"] == 150
    # .npy paths are read as the CLI reads them.
    np.testing.assert_array_equal(fs.monge(str(tmp_path / "x.npy"), tmp_path / "y.npy", **options).params, m.params)


def test_a_python_map_applies_in_the_cli_and_a_cli_map_in_python(cli, tmp_path, specs, points):
    source, target = specs
    np.save(tmp_path / "x.npy", points)
    m = fs.monge(fs.GaussianMixture.from_dict(SOURCE), TARGET, **QUICK)
    m.save(tmp_path / "py_map")
    cli("monge-apply", "--map", tmp_path / "py_map", "--x", tmp_path / "x.npy", "--out", tmp_path / "y_cli.npy")
    np.testing.assert_array_equal(m.apply(points), np.load(tmp_path / "y_cli.npy"))
    np.testing.assert_array_equal(m(points), m.apply(points))

    cli_dir, _ = cli_monge(cli, tmp_path, source, target, **dict(QUICK, potential="lse", pieces=8))
    loaded = fs.MongeMap.load(cli_dir)
    assert (loaded.potential, loaded.dim, loaded.report) == ("lse", 2, None)
    cli("monge-apply", "--map", cli_dir, "--x", tmp_path / "x.npy", "--out", tmp_path / "y2.npy")
    np.testing.assert_array_equal(loaded.apply(points), np.load(tmp_path / "y2.npy"))
    # save(load(dir)) writes the same files.
    loaded.save(tmp_path / "again")
    for name in ("manifest.json", "params.npy"):
        assert (tmp_path / "again" / name).read_bytes() == (cli_dir / name).read_bytes()


def test_the_map_moves_the_source_towards_the_target(points):
    # Four implicit steps of total time 2 close much of the ~2.2 gap between the Gaussians.
    m = fs.monge(SOURCE, TARGET, potential="icnn", widths=[8, 8], tau=0.5, steps=4, inner=20, lr=0.05, batch=100,
                 eval_points=500, seed=1)
    assert m.report["records"][-1]["energy_distance"] < 0.3 * m.report["energy_distance_identity"]
    pushed = m.apply(fs.GaussianMixture.from_dict(SOURCE).sample(2000, seed=5, precision="double"))
    assert np.linalg.norm(pushed.mean(axis=0)) < 0.5 < np.linalg.norm(np.array([2.0, -1.0]))


def test_progress_is_called_after_every_outer_step():
    done = []
    fs.monge(SOURCE, TARGET, **dict(QUICK, steps=3, eval_points=0), progress=done.append)
    assert done == [1, 2, 3]


def test_the_gil_is_released_while_training():
    options = dict(QUICK, steps=6, inner=60, batch=200, eval_points=0)
    assert_releases_the_gil(lambda: fs.monge(SOURCE, TARGET, **options))


def test_bad_monge_input_raises_the_clis_message(cli, tmp_path, specs, points):
    source, target = specs
    p = cli("monge", "--source", source, "--target", target, "--tau", "0", "--out", tmp_path / "m", check=False)
    assert p.returncode == 2
    with pytest.raises(fs.Error) as e:
        fs.monge(source, target, tau=0)
    assert str(e.value) == p.stderr.strip().removeprefix("flowsampler: ")
    with pytest.raises(fs.Error, match="--functional: expected kl, mmd or sinkhorn"):
        fs.monge(SOURCE, TARGET, functional="wasserstein")
    with pytest.raises(fs.Error, match="--target: kl needs the target's density"):
        fs.monge(SOURCE, points)
    with pytest.raises(fs.Error, match="--target: d = 3, --source has d = 2"):
        fs.monge(SOURCE, np.zeros((5, 3)), functional="mmd")
    m = fs.monge(SOURCE, TARGET, **dict(QUICK, steps=1, inner=1, eval_points=0))
    with pytest.raises(fs.Error, match="--x: d = 3, the map in this MongeMap has d = 2"):
        m.apply(np.zeros((4, 3)))
    with pytest.raises(fs.Error, match="absent is not a directory"):
        fs.MongeMap.load(tmp_path / "absent")
