"""Peer benchmark: Gaussian kernel sum out_i = sum_j exp(-|x_i - y_j|^2 / (2 h^2)).

h = sqrt(d), float32, x and y standard normal, N = M = 2^14, d in {1, 3, 8}.
One peer per call (numpy, torch or keops).  Times the median of 3 runs after a
warm-up, checks rows against a float64 numpy reference, looks up our own rate
for the same case (pairwise.gauss_sum, float, 2 threads) in a bench JSONL file,
and prints one JSON line per case in the bench schema with
speedup = our rate / peer rate.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

THREADS = 2
N = M = 1 << 14
DIMS = (1, 3, 8)
BLOCK = 1024          # rows of the N x M matrix materialized at a time
CHECK_ROWS = 8        # rows compared with the float64 reference
TOL = 1e-4


def numpy_peer():
    def run(x, y, h):
        c = np.float32(-0.5 / (h * h))
        yy = np.einsum("ij,ij->j", y.T, y.T)[None, :]
        out = np.empty(len(x), np.float32)
        for s in range(0, len(x), BLOCK):
            xb = x[s:s + BLOCK]
            dist = xb @ y.T
            dist *= -2
            dist += yy
            dist += np.einsum("ij,ij->i", xb, xb)[:, None]
            np.maximum(dist, 0, out=dist)
            dist *= c
            np.exp(dist, out=dist)
            out[s:s + BLOCK] = dist.sum(axis=1)
        return out
    return f"numpy {np.__version__}", run


def torch_peer():
    import torch
    torch.set_num_threads(THREADS)

    def run(x, y, h):
        x, y = torch.from_numpy(x), torch.from_numpy(y)
        c = -0.5 / (h * h)
        yy = (y * y).sum(1)[None, :]
        out = torch.empty(len(x), dtype=torch.float32)
        for s in range(0, len(x), BLOCK):
            xb = x[s:s + BLOCK]
            dist = torch.addmm(yy + (xb * xb).sum(1)[:, None], xb, y.T, alpha=-2)
            out[s:s + BLOCK] = dist.clamp_min_(0).mul_(c).exp_().sum(1)
        return out.numpy()
    return f"torch {torch.__version__}", run


def keops_peer(build_dir):
    import pykeops
    if build_dir:
        pykeops.set_build_folder(os.path.abspath(build_dir))
    from pykeops.numpy import LazyTensor

    def run(x, y, h):
        xi = LazyTensor(x[:, None, :])
        yj = LazyTensor(y[None, :, :])
        k = (((xi - yj) ** 2).sum(-1) * np.float32(-0.5 / (h * h))).exp()
        return k.sum(dim=1).ravel()
    return f"pykeops {pykeops.__version__}", run


def reference(x, y, h):
    x, y = x.astype(np.float64), y.astype(np.float64)
    d2 = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    return np.exp(-d2 / (2 * h * h)).sum(1)


def our_rates(path):
    rates = {}
    try:
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                if (r.get("bench") == "pairwise.gauss_sum" and r.get("precision") == "float"
                        and r.get("threads") == THREADS and r.get("peer") is None):
                    rates[(r["n"], r["m"], r["d"])] = r["rate"]
    except FileNotFoundError:
        print(f"note: {path} not found; speedup will be null", file=sys.stderr)
    return rates


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("peer", choices=["numpy", "torch", "keops"])
    ap.add_argument("--ours", default="out/bench.jsonl")
    ap.add_argument("--keops-build", default=None)
    args = ap.parse_args()
    out, sys.stdout = sys.stdout, sys.stderr  # KeOps logs to stdout; keep it JSON-only

    ours = our_rates(args.ours)
    if args.peer == "numpy":
        name, run = numpy_peer()
    elif args.peer == "torch":
        name, run = torch_peer()
    else:
        name, run = keops_peer(args.keops_build)

    rng = np.random.default_rng(0)
    for d in DIMS:
        x = rng.standard_normal((N, d), dtype=np.float32)
        y = rng.standard_normal((M, d), dtype=np.float32)
        h = float(np.sqrt(d))
        got = np.asarray(run(x, y, h))  # warm-up (and KeOps compile)
        times = []
        for _ in range(3):
            t = time.perf_counter()
            run(x, y, h)
            times.append(time.perf_counter() - t)
        sec = statistics.median(times)
        rows = np.linspace(0, N - 1, CHECK_ROWS).astype(int)
        ref = reference(x[rows], y, h)
        err = float(np.max(np.abs(got[rows] - ref) / np.abs(ref)))
        if err >= TOL:
            print(f"warning: {name} d={d} rel_err {err:.3g} >= {TOL}", file=sys.stderr)
        rate = N * M / sec
        mine = ours.get((N, M, d))
        print(json.dumps({
            "bench": "pairwise.gauss_sum", "backend": "cpu", "precision": "float",
            "threads": THREADS, "n": N, "m": M, "d": d, "seconds": round(sec, 6),
            "rate": float(f"{rate:.6g}"), "unit": "pairs/s", "limit": None, "ratio": None,
            "peer": name, "speedup": float(f"{mine / rate:.4g}") if mine else None,
            "rel_err": float(f"{err:.3g}"), "check": "ok" if err < TOL else "fail",
        }), file=out, flush=True)


if __name__ == "__main__":
    main()
