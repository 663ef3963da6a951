"""Peer benchmark: exact velocity of an isotropic Gaussian mixture on the linear path.

Mixture in d dims with K components: mean m_k, variance v_k = 0.5 + 0.1 (k % 4),
weight w_k ~ 1 + (k % 3); noise N(0, I); linear path at t = 0.5 (a = t, b = 1 - t,
a' = 1, b' = -1).  Per particle z: C_k = a^2 v_k + b^2, responsibilities
r = softmax(log w_k - d/2 log C_k - |z - a m_k|^2 / (2 C_k)), denoiser
D = sum_k r_k (m_k + a v_k / C_k (z - a m_k)), velocity v = a' D + b' (z - a D) / b.
float32, z standard normal, N = 2^20, (d, K) in {(2,8), (2,64), (16,8), (16,64)},
blocks of 65536 rows.  One peer per call (numpy or torch CPU).  Times the median of
3 runs after a warm-up, checks rows against a float64 numpy reference (row-norm
relative error), looks up our rate for the same case (gmm.velocity_isotropic,
float, 2 threads, same d and m) in a bench JSONL file, and prints one JSON line
per case in the bench schema with speedup = our rate / peer rate.
"""
import argparse
import json
import statistics
import sys
import time

import numpy as np

THREADS = 2
N = 1 << 20
CASES = ((2, 8), (2, 64), (16, 8), (16, 64))
BLOCK = 65536
CHECK_ROWS = 16
TOL = 1e-3
T = 0.5
A, B, DA, DB = T, 1 - T, 1.0, -1.0


def mixture(d, K):
    k = np.arange(K)
    means = 3 * np.random.default_rng(1).standard_normal((K, d))
    var = 0.5 + 0.1 * (k % 4)
    w = 1.0 + (k % 3)
    return means, var, w / w.sum()


def coefficients(means, var, w):
    """Float32 constants of the expanded form: logits = c0 + z . P - |z|^2 q,
    D = r @ Md + z (r @ g), with P = a m / C, q = 1 / (2 C), g = a v / C."""
    d = means.shape[1]
    C = A * A * var + B * B
    c0 = np.log(w) - 0.5 * d * np.log(C) - (A * A) * (means ** 2).sum(1) / (2 * C)
    g = A * var / C
    f = lambda x: np.ascontiguousarray(x, dtype=np.float32)
    return f(c0), f((A * means / C[:, None]).T), f(1 / (2 * C)), f(means * (1 - A * g)[:, None]), f(g)


def numpy_peer():
    def run(z, coef):
        c0, P, q, Md, g = coef
        out = np.empty_like(z)
        for s in range(0, len(z), BLOCK):
            zb = z[s:s + BLOCK]
            l = zb @ P
            l -= np.einsum("ij,ij->i", zb, zb)[:, None] * q
            l += c0
            l -= l.max(1, keepdims=True)
            np.exp(l, out=l)
            l /= l.sum(1, keepdims=True)
            D = l @ Md
            D += zb * (l @ g)[:, None]
            ob = out[s:s + BLOCK]
            np.multiply(zb, np.float32(DB / B), out=ob)
            ob += np.float32(DA - DB * A / B) * D
        return out
    return f"numpy {np.__version__}", run


def torch_peer():
    import torch
    torch.set_num_threads(THREADS)

    def run(z, coef):
        c0, P, q, Md, g = (torch.from_numpy(c) for c in coef)
        z = torch.from_numpy(z)
        out = torch.empty_like(z)
        for s in range(0, len(z), BLOCK):
            zb = z[s:s + BLOCK]
            l = torch.addmm(c0, zb, P).sub_((zb * zb).sum(1, keepdim=True) * q)
            r = torch.softmax(l, dim=1)
            D = torch.addcmul(r @ Md, zb, (r @ g)[:, None])
            out[s:s + BLOCK] = torch.add(zb * (DB / B), D, alpha=DA - DB * A / B)
        return out.numpy()
    return f"torch {torch.__version__}", run


def reference(z, means, var, w):
    z = z.astype(np.float64)
    d = z.shape[1]
    C = A * A * var + B * B
    diff = z[:, None, :] - A * means[None]                     # (n, K, d)
    l = np.log(w) - 0.5 * d * np.log(C) - (diff ** 2).sum(-1) / (2 * C)
    l -= l.max(1, keepdims=True)
    r = np.exp(l)
    r /= r.sum(1, keepdims=True)
    D = (r[:, :, None] * (means[None] + (A * var / C)[None, :, None] * diff)).sum(1)
    return DA * D + DB * (z - A * D) / B


def our_rates(path):
    rates = {}
    try:
        with open(path) as f:
            for i, line in enumerate(f, 1):
                try:
                    r = json.loads(line)
                except json.JSONDecodeError:
                    print(f"note: {path}:{i} is not valid JSON; skipped", file=sys.stderr)
                    continue
                if (r.get("bench") == "gmm.velocity_isotropic" and r.get("precision") == "float"
                        and r.get("threads") == THREADS and r.get("peer") is None):
                    rates[(r["d"], r["m"])] = r["rate"]
    except FileNotFoundError:
        print(f"note: {path} not found; speedup will be null", file=sys.stderr)
    return rates


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("peer", choices=["numpy", "torch"])
    ap.add_argument("--ours", default="out/bench_gmm_full.jsonl")
    args = ap.parse_args()

    ours = our_rates(args.ours)
    name, run = numpy_peer() if args.peer == "numpy" else torch_peer()
    rng = np.random.default_rng(0)
    for d, K in CASES:
        means, var, w = mixture(d, K)
        coef = coefficients(means, var, w)
        z = rng.standard_normal((N, d), dtype=np.float32)
        got = np.asarray(run(z, coef))  # warm-up
        times = []
        for _ in range(3):
            t = time.perf_counter()
            run(z, coef)
            times.append(time.perf_counter() - t)
        sec = statistics.median(times)
        rows = np.linspace(0, N - 1, CHECK_ROWS).astype(int)
        ref = reference(z[rows], means, var, w)
        err = float(np.max(np.linalg.norm(got[rows] - ref, axis=1) / np.linalg.norm(ref, axis=1)))
        if err >= TOL:
            print(f"warning: {name} d={d} K={K} rel_err {err:.3g} >= {TOL}", file=sys.stderr)
        rate = N / sec
        mine = ours.get((d, K))
        print(json.dumps({
            "bench": "gmm.velocity_isotropic", "backend": "cpu", "precision": "float",
            "threads": THREADS, "n": N, "m": K, "d": d, "seconds": round(sec, 6),
            "rate": float(f"{rate:.6g}"), "unit": "evaluations/s", "limit": None, "ratio": None,
            "peer": name, "speedup": float(f"{mine / rate:.4g}") if mine else None,
            "rel_err": float(f"{err:.3g}"), "check": "ok" if err < TOL else "fail",
        }), flush=True)


if __name__ == "__main__":
    main()
