"""numpy peer of bench_sample: the same vectorized computation (8-Gaussian
ring, vp path T = 5, exact velocity v = T (z + s(z)), heun), float32, 2
threads, N = 2^20. Times STEPS heun steps (default 3) after a warm-up and
scales to 100 steps (the per-step cost is constant); prints one JSON line
in the bench schema, with speedup = our rate / numpy's when --ours is given.
Usage: sample_numpy.py [--ours out/bench.jsonl] [--steps 3]
"""
import argparse
import json
import time

import numpy as np

N, K, T, STEPS_FULL = 1 << 20, 8, 5.0, 100
BLOCK = 1 << 16


def velocity(z, t, means, var):
    """v = T (z + score) of the noised ring at time t (vp: a = e^{-T(1-t)}, b^2 = 1 - a^2)."""
    a = np.exp(-T * (1 - t))
    C = a * a * var + (1 - a * a)
    out = np.empty_like(z)
    for s in range(0, len(z), BLOCK):
        zb = z[s:s + BLOCK]
        diff = zb[:, None, :] - (a * means)[None, :, :]           # B x K x 2
        logits = -0.5 * (diff ** 2).sum(-1) / C - np.log(C)      # equal weights
        logits -= logits.max(1, keepdims=True)
        r = np.exp(logits)
        r /= r.sum(1, keepdims=True)
        score = -(r[:, :, None] * diff).sum(1) / C
        out[s:s + BLOCK] = T * (zb + score)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours")
    ap.add_argument("--steps", type=int, default=3)
    args = ap.parse_args()
    ang = 2 * np.pi * np.arange(K) / K
    means = np.stack([4 * np.cos(ang), 4 * np.sin(ang)], 1).astype(np.float32)
    var = np.float32(0.09)
    z = np.random.default_rng(0).standard_normal((N, 2)).astype(np.float32)
    h = np.float32(1.0 / STEPS_FULL)
    velocity(z[:BLOCK], 0.0, means, var)  # warm-up
    t0 = time.perf_counter()
    t = 0.0
    for _ in range(args.steps):
        k1 = velocity(z, t, means, var)
        k2 = velocity(z + h * k1, t + h, means, var)
        z = z + 0.5 * h * (k1 + k2)
        t += float(h)
    s = (time.perf_counter() - t0) / args.steps * STEPS_FULL
    rec = {"bench": "sample.ring8_vp_heun100", "backend": "cpu", "precision": "float", "threads": 2, "n": N, "m": K,
           "d": 2, "seconds": s, "rate": N * STEPS_FULL / s, "unit": "particle-steps/s", "limit": 0, "ratio": 0,
           "peer": f"numpy {np.__version__}", "speedup": None, "steps_timed": args.steps,
           "note": f"{args.steps} steps timed, scaled to {STEPS_FULL}"}
    if args.ours:
        for line in open(args.ours):
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            if r.get("bench") == rec["bench"] and r.get("threads") == 2:
                rec["ours_rate"] = r["rate"]
                rec["speedup"] = r["rate"] / rec["rate"]
    print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
