"""Peer benchmark: one evaluation of the kernel drift fields of bench_drift.

Cases (as bench/bench_drift.cpp: cloud x ~ N(0, I), data y ~ N(1, I), d = 2,
2 threads; rates in bench_drift's units so speedup = our rate / peer rate):
  drifting   drift.drifting_normalized, N = M = 2^14, torch float32 CPU: the
             drifting field as the public implementation of 'Generative Modeling
             via Drifting' (Deng et al. 2026) computes it: dense torch.cdist to
             the targets (data, then the cloud with its diagonal masked), the
             distances divided by their mean, and for each temperature
             0.02, 0.05, 0.2: logits -dist / tau, A = sqrt(softmax_row *
             softmax_col), V = rowsum(A_neg) A_pos @ y - rowsum(A_pos) A_neg @ x,
             V / its per-coordinate RMS, summed.  Rate: 17 N^2 / s (our count).
  svgd       drift.svgd_gaussian, N = 2^14: one SVGD direction
             phi(x) = mean_j [k(x_j, x) s(x_j) + grad_{x_j} k(x_j, x)] for the target
             N(0.5, I), k = exp(-r^2 / (2 h^2)), h = 0.5, as Liu & Wang's reference
             svgd.py writes it (K @ score + x rowsum(K) - K @ x, over h^2, / N),
             blocked over rows; float32, numpy or torch CPU.  Rate: 3 N^2 / s.
  sinkhorn   drift.sinkhorn, N = 2^14: ot.sinkhorn(method='sinkhorn_log',
             stopThr=1e-4) in float64 (numpy backend) for the plans x -> y and
             x -> x, cost |x - y|^2 (ot.dist), reg = 0.05, then the barycentric
             projections G @ y / G 1 - G_self @ x / G_self 1.  Rate: 1 / s.
             A full solve at 2^14 takes about an hour here, so by default the
             time is assembled from parts: the iterations each solve needs (a
             full solve of both plans at --sinkhorn-iters-n points, 4096:
             Sinkhorn's iteration count depends on the distributions and eps,
             hardly on N) times the seconds per iteration at 2^14 (one solve run
             for 1 and for 6 iterations), plus twice that solve's set-up and
             projection time at 2^14.  POT's float64 temporaries peak near 18 GB.  The
             line says so ("estimated": true); --sinkhorn-full times it directly.

Agreement: each peer is also run on a small case (--check-n, 512 points) and
compared with our field computed by the CLI (`flowsampler drift ... --steps 1
--dt 1 --integrator euler`, velocity = X1 - X0, float); rel_err is
|V_peer - V_ours|_F / |V_ours|_F, max_err max_i |V_peer,i - V_ours,i| / max_i |V_ours,i|.
For sinkhorn, POT at stopThr 1e-4 (an L2 norm of one marginal's error) stops
earlier than ours (L1 marginal error 1e-4), so the line also gives both fields'
errors against a POT solve at stopThr 1e-7; its check is ours against that.

Usage: drift.py {drifting,svgd-numpy,svgd-torch,sinkhorn} [--ours out/bench_drift.jsonl]
       [--cli build/default/tools/flowsampler] [--n N] [--check-n 512] [--reps 1]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

THREADS = 2
D = 2
H = 0.5            # SVGD bandwidth
OT_EPS = 0.05      # Sinkhorn reg (cost |x - y|^2)
OT_TOL = 1e-4
TEMPS = (0.02, 0.05, 0.2)
TARGET_MEAN = 0.5
TOL = 1e-3
SPAN = 5           # sinkhorn estimate: extra iterations timed at n
TIGHT = 1e-7       # stopThr of the reference POT solve of the sinkhorn check
BENCH = {"drifting": "drift.drifting_normalized", "svgd-numpy": "drift.svgd_gaussian",
         "svgd-torch": "drift.svgd_gaussian", "sinkhorn": "drift.sinkhorn"}
PAIRS = {"drift.drifting_normalized": 17, "drift.svgd_gaussian": 3, "drift.sinkhorn": 0}


# ---------------------------------------------------------------- the peers

def drifting_torch(x, y):
    """Deng et al.'s public form, dense, one temperature at a time (6 N x 2N floats live)."""
    import torch
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    n, m = len(x), len(y)
    with torch.no_grad():
        dist = torch.cdist(x, torch.cat([y, x]))                   # (n, m + n)
        dist[:, m:].fill_diagonal_(0.0)
        scale = dist.sum() / (n * m + n * (n - 1))                 # mean over non-self pairs
        dist[:, m:].fill_diagonal_(1e6 * float(scale))             # mask self, as dist_neg += eye * 1e6
        v_sum = torch.zeros_like(x)
        for tau in TEMPS:
            logit = dist * (-1.0 / (float(scale) * tau))
            a = torch.softmax(logit, dim=1)
            logit = torch.softmax(logit, dim=0)                    # column softmax (reuses the name to free memory)
            a.mul_(logit).sqrt_()
            del logit
            a_pos, a_neg = a[:, :m], a[:, m:]
            v = a_neg.sum(1, keepdim=True) * (a_pos @ y) - a_pos.sum(1, keepdim=True) * (a_neg @ x)
            del a, a_pos, a_neg
            v_sum += v / v.pow(2).mean().sqrt()
    return v_sum.numpy()


def svgd_numpy(x, block=1024):
    n = len(x)
    score = (TARGET_MEAN - x).astype(np.float32)
    sq = np.einsum("ij,ij->i", x, x)
    out = np.empty_like(x)
    for s in range(0, n, block):
        xb = x[s:s + block]
        k = xb @ x.T
        k *= 2
        k -= sq[s:s + block, None]
        k -= sq[None, :]
        k *= np.float32(1 / (2 * H * H))
        np.exp(k, out=k)                                           # k(x_i, x_j), rows i of the block
        out[s:s + block] = (k @ score + (xb * k.sum(1, keepdims=True) - k @ x) / np.float32(H * H)) / np.float32(n)
    return out


def svgd_torch(x, block=4096):
    import torch
    xt = torch.from_numpy(x)
    n = len(xt)
    with torch.no_grad():
        score = TARGET_MEAN - xt
        out = torch.empty_like(xt)
        for s in range(0, n, block):
            xb = xt[s:s + block]
            k = torch.cdist(xb, xt).square_().mul_(-1 / (2 * H * H)).exp_()
            out[s:s + block] = (k @ score + (xb * k.sum(1, keepdim=True) - k @ xt) / (H * H)) / n
    return out.numpy()


def sinkhorn_pot(x, y, iters=None, tol=OT_TOL):
    """T_beta(x) - T_self(x) with POT; iters = None: to stopThr = tol, else exactly that many per solve."""
    import ot
    x, y = x.astype(np.float64), y.astype(np.float64)
    n = len(x)
    a = np.full(n, 1.0 / n)
    out, niter = [], []
    for tgt in (y, x):
        M = ot.dist(x, tgt)
        if iters is None:
            G, log = ot.sinkhorn(a, a, M, OT_EPS, method="sinkhorn_log", stopThr=tol,
                                 numItermax=1000000, log=True)
            niter.append(int(log["niter"]))
        else:
            G = ot.sinkhorn(a, a, M, OT_EPS, method="sinkhorn_log", stopThr=0.0, numItermax=iters, warn=False)
            niter.append(iters)
        del M
        out.append((G @ tgt) / G.sum(1, keepdims=True))
        del G
    return (out[0] - out[1]).astype(np.float32), niter


# ---------------------------------------------------------------- helpers

def clouds(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, D)).astype(np.float32)
    y = (rng.standard_normal((n, D)) + 1.0).astype(np.float32)
    return x, y


def our_rates(path):
    rates = {}
    try:
        with open(path) as f:
            for i, text in enumerate(f, 1):
                try:
                    r = json.loads(text)
                except json.JSONDecodeError:
                    print(f"note: {path}:{i} is not valid JSON; skipped", file=sys.stderr)
                    continue
                if (r.get("precision") == "float" and r.get("threads") == THREADS and r.get("peer") is None
                        and r.get("d") == D):
                    rates[(r.get("bench"), r.get("n"))] = r.get("rate")
    except FileNotFoundError:
        print(f"note: {path} not found; speedup will be null", file=sys.stderr)
    return rates


def ours_cli(cli, case, x, y):
    """Our velocity on (x, y) from the CLI: one euler step of size 1."""
    field = {"drifting": "drifting-normalized", "svgd-numpy": "svgd", "svgd-torch": "svgd",
             "sinkhorn": "sinkhorn"}[case]
    with tempfile.TemporaryDirectory() as tmp:
        xp, yp, tp, op = (os.path.join(tmp, f) for f in ("x.npy", "y.npy", "t.json", "out.npy"))
        np.save(xp, x)
        np.save(yp, y)
        cmd = [cli, "drift", "--field", field, "--x", xp, "--steps", "1", "--dt", "1", "--integrator", "euler",
               "--eps", str(H), "--ot-eps", str(OT_EPS), "--precision", "float", "--every", "1", "--out", op]
        if field == "svgd":
            with open(tp, "w") as f:
                json.dump({"type": "gaussian_mixture", "dim": D, "weights": [1],
                           "means": [[TARGET_MEAN] * D], "covariances": [1.0]}, f)
            cmd += ["--target", tp]
        else:
            cmd += ["--data", yp]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=dict(os.environ, OMP_NUM_THREADS=str(THREADS)))
        return (np.load(op).astype(np.float64) - x.astype(np.float64))


def errors(v, ref):
    v, ref = np.asarray(v, np.float64), np.asarray(ref, np.float64)
    rel = np.linalg.norm(v - ref) / np.linalg.norm(ref)
    mx = np.max(np.linalg.norm(v - ref, axis=1)) / np.max(np.linalg.norm(ref, axis=1))
    return float(rel), float(mx)


def peer_name(case):
    if case == "sinkhorn":
        import ot
        return f"POT {ot.__version__} (numpy {np.__version__}, float64)"
    if case == "svgd-numpy":
        return f"numpy {np.__version__}"
    import torch
    return f"torch {torch.__version__}"


def timed(fn, reps):
    times, res = [], None
    for _ in range(reps):
        t = time.perf_counter()
        res = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=sorted(BENCH))
    ap.add_argument("--ours", default="out/bench_drift.jsonl")
    ap.add_argument("--cli", default="build/default/tools/flowsampler")
    ap.add_argument("--n", type=int, default=1 << 14)
    ap.add_argument("--check-n", type=int, default=512)
    ap.add_argument("--reps", type=int, default=1, help="timed runs (median); the check run warms up")
    ap.add_argument("--sinkhorn-full", action="store_true", help="time the full POT solves at --n")
    ap.add_argument("--sinkhorn-iters-n", type=int, default=4096)
    a = ap.parse_args()
    if a.case != "svgd-numpy":
        import torch
        torch.set_num_threads(THREADS)

    bench = BENCH[a.case]
    run = {"drifting": lambda x, y: drifting_torch(x, y), "svgd-numpy": lambda x, y: svgd_numpy(x),
           "svgd-torch": lambda x, y: svgd_torch(x), "sinkhorn": lambda x, y: sinkhorn_pot(x, y)[0]}[a.case]

    # Agreement on a small case (also the warm-up).
    xc, yc = clouds(a.check_n, 7)
    extra = {"check_n": a.check_n}
    try:
        ours = ours_cli(a.cli, a.case, xc, yc)
        vp = run(xc, yc)
        rel, mx = errors(vp, ours)
        if a.case == "sinkhorn":
            # POT's stopThr is an L2 norm of one marginal's error, looser than our
            # L1 tolerance: also compare ours with a tight POT solve.
            tight = sinkhorn_pot(xc, yc, tol=TIGHT)[0]
            extra.update(ours_vs_tight_rel_err=float(f"{errors(ours, tight)[0]:.3g}"),
                         peer_vs_tight_rel_err=float(f"{errors(vp, tight)[0]:.3g}"), tight_stopThr=TIGHT)
        judged = extra.get("ours_vs_tight_rel_err", rel)   # sinkhorn: judged against the tight solve
        extra.update(rel_err=float(f"{rel:.3g}"), max_err=float(f"{mx:.3g}"), check="ok" if judged < TOL else "fail")
        if judged >= TOL:
            print(f"warning: {a.case} error {judged:.3g} >= {TOL} at N = {a.check_n}", file=sys.stderr)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"note: our CLI failed ({e}); no agreement check", file=sys.stderr)
        extra.update(rel_err=None, max_err=None, check="skipped")

    n = a.n
    x, y = clouds(n, 0)
    if a.case != "sinkhorn" or a.sinkhorn_full:
        if a.case == "sinkhorn":
            t0 = time.perf_counter()
            _, niter = sinkhorn_pot(x, y)
            sec = time.perf_counter() - t0
            extra.update(iterations=niter, estimated=False)
        else:
            sec, _ = timed(lambda: run(x, y), a.reps)
    else:
        # Iterations to convergence at a smaller N, seconds per iteration at n.
        xs, ys = clouds(a.sinkhorn_iters_n, 0)
        _, niter = sinkhorn_pot(xs, ys)
        # One solve (x -> y) run for 1 and for 1 + SPAN iterations: the difference
        # is SPAN iterations; the rest (ot.dist, -M / reg, the plan, the
        # projection) is the per-solve set-up, paid by both solves.
        def one_solve(iters):
            import ot
            t = time.perf_counter()
            xd, yd = x.astype(np.float64), y.astype(np.float64)
            M = ot.dist(xd, yd)
            G = ot.sinkhorn(np.full(n, 1.0 / n), np.full(n, 1.0 / n), M, OT_EPS, method="sinkhorn_log",
                            stopThr=0.0, numItermax=iters, warn=False)
            del M
            (G @ yd) / G.sum(1, keepdims=True)
            return time.perf_counter() - t
        t1 = one_solve(1)
        tk = one_solve(1 + SPAN)
        per_iter = (tk - t1) / SPAN
        if per_iter <= 0:
            print(f"warning: sinkhorn per-iteration time {per_iter:.3g} s <= 0 (noise from other load); "
                  "use --sinkhorn-full", file=sys.stderr)
        fixed = 2 * (t1 - per_iter)
        sec = fixed + per_iter * sum(niter)
        extra.update(estimated=True, iterations=niter, iterations_at_n=a.sinkhorn_iters_n,
                     seconds_per_iteration=round(per_iter, 4), seconds_fixed=round(fixed, 3), seconds_1_iter=round(t1, 3), seconds_more_iter=round(tk, 3),
                     stopThr=OT_TOL, reg=OT_EPS)

    pairs = PAIRS[bench]
    rate = pairs * float(n) * n / sec if pairs else 1.0 / sec
    mine = our_rates(a.ours).get((bench, n))
    rec = {"bench": bench, "backend": "cpu", "precision": "double" if a.case == "sinkhorn" else "float",
           "threads": THREADS, "n": n, "m": n, "d": D, "seconds": round(sec, 6), "rate": float(f"{rate:.6g}"),
           "unit": "pairs/s" if pairs else "evaluations/s", "limit": None, "ratio": None,
           "peer": peer_name(a.case), "speedup": float(f"{mine / rate:.4g}") if mine else None}
    if mine:
        rec["ours_rate"] = mine
    rec.update(extra)
    print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
