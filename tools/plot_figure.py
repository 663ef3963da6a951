#!/usr/bin/python3
"""Renders a figure spec written by `flowsampler reproduce` to a PNG.

Usage: tools/plot_figure.py SPEC.json OUT.png

SPEC = {"title": str, "panels": [PANEL, ...]}, the panels laid out in one row.
PANEL = {"kind": "lines" | "hist" | "scatter" | "ellipses", "title", "xlabel",
         "ylabel", "logx", "logy", "series": [...]} where each series is
  lines:    {"label", "x": [..], "y": [..], "style": "o-"}
  hist:     {"label", "values": [..], "bins": 30}
  scatter:  {"label", "points": [[x, y], ..], "size": 1}
  ellipses: {"label", "mean": [x, y], "cov": [[a, b], [b, c]]}  (2-sigma ellipse),
            or a scatter series ({"points": ..}), drawn in grey underneath
Needs numpy and matplotlib (Debian: python3-numpy python3-matplotlib).
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")  # files only: no display on the machines this runs on
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

KINDS = ("lines", "hist", "scatter", "ellipses")


class SpecError(ValueError):
    pass


def need(obj, key, where, types):
    if key not in obj:
        raise SpecError(f"{where}: missing '{key}'")
    if not isinstance(obj[key], types):
        raise SpecError(f"{where}: '{key}' has type {type(obj[key]).__name__}")
    return obj[key]


def numbers(values, where, shape_tail=()):
    try:
        a = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as e:
        raise SpecError(f"{where}: not numbers ({e})") from None
    if a.ndim != 1 + len(shape_tail) or tuple(a.shape[1:]) != tuple(shape_tail):
        raise SpecError(f"{where}: shape {a.shape}, expected (n{''.join(', %d' % s for s in shape_tail)})")
    return a


def ellipse(ax, mean, cov, label, color):
    m = numbers(mean, f"{label}: mean")
    c = np.asarray(cov, dtype=float)
    if m.shape != (2,) or c.shape != (2, 2):
        raise SpecError(f"ellipse '{label}': mean must have 2 entries and cov be 2 x 2")
    w, v = np.linalg.eigh(0.5 * (c + c.T))
    if w.min() < 0:
        raise SpecError(f"ellipse '{label}': covariance is not positive semi-definite")
    th = np.linspace(0, 2 * np.pi, 100)
    pts = m[:, None] + 2 * v @ (np.sqrt(w)[:, None] * np.vstack([np.cos(th), np.sin(th)]))
    ax.plot(pts[0], pts[1], color=color, lw=1.2, label=label)
    ax.plot([m[0]], [m[1]], "+", color=color, ms=5)


def panel(ax, p, i):
    where = f"panel {i}"
    kind = need(p, "kind", where, str)
    if kind not in KINDS:
        raise SpecError(f"{where}: unknown kind '{kind}' (expected one of {', '.join(KINDS)})")
    series = need(p, "series", where, list)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for j, s in enumerate(series):
        sw = f"{where} series {j}"
        if not isinstance(s, dict):
            raise SpecError(f"{sw}: not an object")
        label = s.get("label", "")
        color = colors[j % len(colors)]
        if kind == "lines":
            x, y = numbers(need(s, "x", sw, list), sw + " x"), numbers(need(s, "y", sw, list), sw + " y")
            if x.shape != y.shape:
                raise SpecError(f"{sw}: x has {len(x)} values, y has {len(y)}")
            ax.plot(x, y, s.get("style", "o-"), label=label, color=color, ms=3)
        elif kind == "hist":
            v = numbers(need(s, "values", sw, list), sw + " values")
            ax.hist(v, bins=int(s.get("bins", 30)), alpha=0.5, label=label, color=color)
        elif kind == "scatter":
            pts = numbers(need(s, "points", sw, list), sw + " points", (2,))
            ax.scatter(pts[:, 0], pts[:, 1], s=float(s.get("size", 1)), label=label, color=color, alpha=0.5, lw=0)
        elif "points" in s:  # an ellipses panel may draw its particles underneath
            pts = numbers(need(s, "points", sw, list), sw + " points", (2,))
            ax.scatter(pts[:, 0], pts[:, 1], s=float(s.get("size", 1)), color="0.6", alpha=0.4, lw=0)
        else:
            ellipse(ax, need(s, "mean", sw, list), need(s, "cov", sw, list), label, color)
    if p.get("logx"):
        ax.set_xscale("log")
    if p.get("logy"):
        ax.set_yscale("log")
    if kind in ("scatter", "ellipses"):
        ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(p.get("title", ""), fontsize=9)
    ax.set_xlabel(p.get("xlabel", ""), fontsize=8)
    ax.set_ylabel(p.get("ylabel", ""), fontsize=8)
    ax.tick_params(labelsize=7)
    if any(isinstance(s, dict) and s.get("label") for s in series):
        ax.legend(fontsize=6)


def main(argv):
    if len(argv) != 3:
        raise SystemExit(__doc__.strip().splitlines()[2])
    try:
        with open(argv[1]) as f:
            spec = json.load(f)
        if not isinstance(spec, dict):
            raise SpecError("the spec must be a JSON object")
        panels = need(spec, "panels", "spec", list)
        if not panels:
            raise SpecError("spec: 'panels' is empty")
        fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.0), dpi=110, squeeze=False)
        for i, (ax, p) in enumerate(zip(axes[0], panels)):
            if not isinstance(p, dict):
                raise SpecError(f"panel {i}: not an object")
            panel(ax, p, i)
    except (OSError, json.JSONDecodeError, SpecError) as e:
        raise SystemExit(f"plot_figure.py: {argv[1]}: {e}")
    fig.suptitle(spec.get("title", ""), fontsize=10)
    fig.tight_layout()
    fig.savefig(argv[2])
    print(f"plot_figure.py: wrote {argv[2]}")


if __name__ == "__main__":
    main(sys.argv)
