"""flowsampler.reproduce: `flowsampler reproduce NAME` in process, its result.json as a dict."""
import json
import os
import tempfile

from . import _core

reproductions = _core.reproductions


def reproduce(name, *, quick=True, seed=0, seeds=0, out=None, perturb=(), backend="auto"):
    """Runs the reproduction ``name`` (one of ``flowsampler.reproductions``) as
    ``flowsampler reproduce NAME [--quick] --seed SEED --seeds SEEDS --out OUT`` does and returns
    its result.json as a dict: the measured figures, and under "checks" each claim
    with its measured value, reference, tolerance and whether it "holds"
    ("all_checks_hold" sums them up; the CLI exits 1 when it is false).

    out: the directory for result.json, table.md and the figures (created; replaced
    as a whole); None writes them to a temporary directory that is removed.
    seeds: monge's Figure 2 seeds (0: the CLI's default). perturb: "NAME=FACTOR"
    strings (the CLI's --perturb, for tests). Raises flowsampler.Error on bad input
    (an unknown name, seeds for another reproduction).
    """
    if out is not None:
        return _run(name, quick, seed, seeds, os.fspath(out), perturb, backend)
    with tempfile.TemporaryDirectory(prefix="flowsampler-reproduce-") as tmp:
        return _run(name, quick, seed, seeds, os.path.join(tmp, "out"), perturb, backend)


def _run(name, quick, seed, seeds, out, perturb, backend):
    _core.reproduce(name, quick=quick, seed=seed, seeds=seeds, out=out, perturb=list(perturb), backend=backend)
    with open(os.path.join(out, "result.json")) as f:
        return json.load(f)
