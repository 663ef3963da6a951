"""The Python package's overhead on the main job's sample (issue 20: < 5%).

Times fs.sample(ring8, n = 10^6, vp, heun, 100 log-SNR steps) against the same
run inside the CLI (its report's wall_seconds: run_sample_flow and the output
file, without the quality check), interleaved, best and median of --trials,
and prints one JSON line. Run with the package's interpreter, e.g.
  build/python-venv/bin/python bench/python_overhead.py --cli build/default/tools/flowsampler
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
import warnings

import flowsampler as fs

here = os.path.dirname(os.path.abspath(__file__))
parser = argparse.ArgumentParser()
parser.add_argument("--cli", required=True, help="the flowsampler binary")
parser.add_argument("--trials", type=int, default=5)
parser.add_argument("--n", type=int, default=1_000_000)
args = parser.parse_args()
ring = os.path.join(here, "..", "examples", "targets", "ring8.json")
options = dict(path="vp", integrator="heun", steps=100, schedule="logsnr", seed=0)
py, cli = [], []
with tempfile.TemporaryDirectory() as tmp:
    for _ in range(args.trials):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fs.sample(ring, n=args.n, **options)
        py.append(time.perf_counter() - start)
        report = os.path.join(tmp, "r.json")
        subprocess.run([args.cli, "sample", "--target", ring, "--path", "vp", "--integrator", "heun", "--steps", "100",
                        "--schedule", "logsnr", "--seed", "0", "--n", str(args.n), "--quality-subsample", "0",
                        "--out", os.path.join(tmp, "x.npy"), "--report", report], check=True, stderr=subprocess.DEVNULL)
        with open(report) as f:
            cli.append(json.load(f)["wall_seconds"])
print(json.dumps({"bench": "python.sample_overhead", "n": args.n, "trials": args.trials,
                  "python_seconds": {"best": min(py), "median": statistics.median(py)},
                  "cli_seconds": {"best": min(cli), "median": statistics.median(cli)},
                  "overhead": statistics.median(py) / statistics.median(cli) - 1}))
