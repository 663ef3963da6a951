"""Peer benchmark: exact W2^2 between two uniform point clouds with POT's ot.emd2.

N = M = 2000 (override with --n), d = 3, x and y standard normal (numpy
default_rng, seed 1000 + repetition, float64), uniform weights 1/N, cost the
squared Euclidean matrix ot.dist(x, y) (not timed separately: it is part of the
call, as our exact_assignment computes its own distances). Times 5 repetitions
and prints one JSON line per run, then one with the median, including the POT
version. ot.emd2 runs a network simplex on the dense N x M cost.

With --check PATH it also writes the clouds of repetition 0 to PATH as raw
float64 (x then y, column-major: coordinate k of point i at k*N + i) together
with POT's cost, so our solver can be compared on the very same data.
"""
import argparse
import json
import statistics
import sys
import time

import numpy as np

try:
    import ot
except ImportError:  # pragma: no cover - reported as a JSON line, not a traceback
    print(json.dumps({"bench": "exact_w2", "peer": "pot", "error": "POT (import ot) is not installed"}))
    sys.exit(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--d", type=int, default=3)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--check", default=None)
    args = ap.parse_args()
    n, d = args.n, args.d
    peer = f"pot {ot.__version__}"
    times = []
    for r in range(args.reps):
        rng = np.random.default_rng(1000 + r)
        x = rng.standard_normal((n, d))
        y = rng.standard_normal((n, d))
        a = np.full(n, 1.0 / n)
        b = np.full(n, 1.0 / n)
        t0 = time.perf_counter()
        cost = ot.emd2(a, b, ot.dist(x, y, metric="sqeuclidean"), numItermax=10_000_000)
        s = time.perf_counter() - t0
        times.append(s)
        print(json.dumps({"bench": "exact_w2", "peer": peer, "n": n, "d": d, "rep": r,
                          "seconds": round(s, 6), "cost": float(cost)}), flush=True)
        if r == 0 and args.check:
            np.concatenate([x.T.ravel(), y.T.ravel()]).astype(np.float64).tofile(args.check)
            with open(args.check + ".json", "w") as f:
                json.dump({"n": n, "d": d, "cost": float(cost)}, f)
    print(json.dumps({"bench": "exact_w2", "peer": peer, "n": n, "d": d, "reps": args.reps,
                      "median_seconds": round(statistics.median(times), 6),
                      "min_seconds": round(min(times), 6)}), flush=True)


if __name__ == "__main__":
    main()
