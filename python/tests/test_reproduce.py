"""fs.reproduce against `flowsampler reproduce NAME --quick`: the same result.json."""
import json

import pytest

import flowsampler as fs

NAME = "fm-gaussian-map"  # the quickest reproduction


@pytest.fixture(autouse=True)
def no_figures(monkeypatch):
    # The figures' specs are written either way; rendering them (matplotlib) only costs time here.
    monkeypatch.setenv("FLOWSAMPLER_PLOT", "/nonexistent/plot_figure.py")


def measured(result):
    return [(c["id"], c["measured"], c["holds"]) for c in result["checks"]]


def test_reproduce_equals_the_cli(cli, tmp_path):
    result = fs.reproduce(NAME, quick=True, seed=3, backend="cpu", out=tmp_path / "py")
    assert json.loads((tmp_path / "py" / "result.json").read_text()) == result
    cli("reproduce", NAME, "--quick", "--seed", 3, "--backend", "cpu", "--out", tmp_path / "cli")
    ref = json.loads((tmp_path / "cli" / "result.json").read_text())
    assert measured(result) == measured(ref) and result["all_checks_hold"] is True
    assert result.keys() == ref.keys()


def test_a_failed_check_is_reported_not_raised():
    # The CLI test's perturbation: twice the flow-matching map's gap to the OT map fails its check
    # (the CLI exits 1); the result holds the outcome.
    result = fs.reproduce(NAME, seed=3, backend="cpu", perturb=["theta-0.785/fm-ot-gap=2"])
    assert result["all_checks_hold"] is False
    assert [c["id"] for c in result["checks"] if not c["holds"]] == ["theta-0.785/fm-ot-gap"]
    assert NAME in fs.reproductions


def test_bad_reproduce_input_raises():
    with pytest.raises(fs.Error, match="reproduce: unknown experiment 'nothing'"):
        fs.reproduce("nothing")
    with pytest.raises(fs.Error, match="--seeds: only monge repeats an experiment over seeds"):
        fs.reproduce(NAME, seeds=3)
