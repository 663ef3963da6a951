#!/usr/bin/python3
"""Draws a 2-D sample cloud as a log-density image with a few trajectories.

Usage: tools/plot.py SAMPLES.npy OUT.png [--trajectory TR.npy] [--title TEXT]
SAMPLES is (N, 2); TR is (J, K, 2) from `flowsampler sample --trajectory`.
Needs numpy and matplotlib (Debian: python3-numpy python3-matplotlib).
"""
import argparse

import matplotlib

matplotlib.use("Agg")  # files only: no display on the machines this runs on
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("samples")
    ap.add_argument("out")
    ap.add_argument("--trajectory")
    ap.add_argument("--title", default="")
    ap.add_argument("--paths", type=int, default=24, help="trajectories drawn")
    a = ap.parse_args()
    x = np.load(a.samples)
    if x.ndim != 2 or x.shape[1] != 2:
        raise SystemExit(f"plot.py: {a.samples} has shape {x.shape}; expected (N, 2)")
    fig, ax = plt.subplots(figsize=(6, 6), dpi=120)
    lo, hi = np.percentile(x, [0.1, 99.9], axis=0)
    pad = 0.1 * (hi - lo)
    ax.hist2d(x[:, 0], x[:, 1], bins=300, range=[[lo[0] - pad[0], hi[0] + pad[0]], [lo[1] - pad[1], hi[1] + pad[1]]],
              norm=matplotlib.colors.LogNorm(), cmap="magma")
    if a.trajectory:
        tr = np.load(a.trajectory)
        if tr.ndim != 3 or tr.shape[2] != 2:
            raise SystemExit(f"plot.py: {a.trajectory} has shape {tr.shape}; expected (J, K, 2)")
        for k in range(min(a.paths, tr.shape[1])):
            ax.plot(tr[:, k, 0], tr[:, k, 1], color="cyan", lw=0.8, alpha=0.8)
            ax.plot(tr[0, k, 0], tr[0, k, 1], "o", color="black", ms=2)
    ax.set_aspect("equal")
    ax.set_title(a.title or f"{len(x):,} samples", fontsize=9)
    fig.tight_layout()
    fig.savefig(a.out)
    print(f"plot.py: wrote {a.out}")


if __name__ == "__main__":
    main()
