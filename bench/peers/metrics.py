"""POT on the metrics issue's cases, float32 where POT allows, 2 threads.

Prints JSON lines in the bench schema; with --ours FILE (bench_metrics
output) each line carries our rate and the speed-up (ours / POT).
  sliced W2   P = 128, N = M = 2^20, d = 16   ot.sliced_wasserstein_distance
  sinkhorn    N = M = 2^13 and 2^14, d = 3, eps = 0.01 (reg in POT's units):
              ot.sinkhorn2 method sinkhorn_log (reg 0.01) and sinkhorn (reg 1: plain
              Sinkhorn underflows at 0.01), time per iteration
Usage: metrics.py [--ours out/bench_metrics.jsonl] [--quick]
(--quick: sliced W2 at N = 2^17, scaled by N log N to 2^20, stated in the line).
"""
import argparse
import json
import math
import resource
import time

import numpy as np
import ot


def line(bench, n, d, seconds, unit, rate, extra, ours):
    rec = {"bench": bench, "backend": "cpu", "precision": "float", "threads": 2, "n": n, "m": n, "d": d,
           "seconds": seconds, "rate": rate, "unit": unit, "limit": 0, "ratio": 0,
           "peer": f"POT {ot.__version__} (numpy {np.__version__})", "speedup": None}
    rec.update(extra)
    if bench in ours and ours[bench] > 0:
        rec["ours_rate"] = ours[bench]
        rec["speedup"] = ours[bench] / rate
    print(json.dumps(rec), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    ours = {}
    if a.ours:
        for text in open(a.ours):
            try:
                r = json.loads(text)
            except json.JSONDecodeError:
                continue
            ours[r.get("bench")] = r.get("rate", 0)
    rng = np.random.default_rng(0)

    # Sliced W2: rate in projected values sorted per second, as ours.
    n_full, d, P = 1 << 20, 16, 128
    n = (1 << 17) if a.quick else n_full
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = (rng.standard_normal((n, d)) + 0.1).astype(np.float32)
    t = time.perf_counter()
    sw = ot.sliced_wasserstein_distance(x, y, n_projections=P, seed=3)
    s = time.perf_counter() - t
    scale = (n_full * math.log(n_full)) / (n * math.log(n))
    line("metrics.sliced_w2", n_full, d, s * scale, "projected values sorted/s", 2 * P * n_full / (s * scale),
         {"projections": P, "measured_n": n, "measured_seconds": s, "sw2_squared": float(sw) ** 2,
          "scaled_to_n": n_full if n != n_full else None}, ours)

    # Sinkhorn per iteration (fixed iteration count, no early stop).
    for n in (1 << 13, 1 << 14):
        x = rng.standard_normal((n, 3)).astype(np.float32)
        y = (rng.standard_normal((n, 3)) + 0.5).astype(np.float32)
        w = np.full(n, 1.0 / n, dtype=np.float32)
        for method, iters, reg in (("sinkhorn_log", 3, 0.01), ("sinkhorn", 20, 1.0)):
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            t = time.perf_counter()
            M = ot.dist(x, y)  # the dense N x M cost matrix, part of POT's way
            ot.sinkhorn2(w, w, M, reg, method=method, numItermax=iters, stopThr=0.0, warn=False)
            s = (time.perf_counter() - t) / iters
            rss = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
            bench = "metrics.sinkhorn_log_domain" if method == "sinkhorn_log" else "metrics.sinkhorn_plain"
            line(bench if n == (1 << 14) else bench + "_8192", n, 3, s, "pairs/s", 2.0 * n * n / s,
                 {"seconds_per_iteration": s, "iterations_timed": iters, "peak_rss_growth_mib": rss,
                  "method": method, "reg": reg}, ours)
            del M


if __name__ == "__main__":
    main()
