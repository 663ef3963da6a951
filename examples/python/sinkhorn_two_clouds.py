"""The Sinkhorn divergence between two clouds, and the entropic plan's cost against the exact
W2^2 (an optimal assignment) as eps shrinks; compared with POT when it is installed."""
import numpy as np

import flowsampler as fs

rng = np.random.default_rng(1)
x = np.asfortranarray(rng.normal(size=(300, 2)))              # the library's layout: read in place
y = np.asfortranarray(rng.normal(loc=[1.0, 0.0], size=(300, 2)))
exact, _ = fs.metrics.exact_w2_squared(x, y)
print(f"exact W2^2 = {exact:.4f}")
for eps in [1.0, 0.1, 0.03]:
    s = fs.metrics.sinkhorn(x, y, eps=eps)
    print(f"eps = {eps:5}: S_eps = {s.divergence:.4f}, plan cost = {s.cost:.4f}, {s.iterations} iterations")
assert abs(s.cost - exact) < 0.05 * exact, "the entropic plan's cost should approach W2^2 as eps -> 0"

try:
    import ot
except ImportError:
    print("POT not installed: no comparison")
else:
    a = np.full(len(x), 1 / len(x))
    ot_pot = ot.sinkhorn2(a, a, ot.dist(x, y), reg=1.0, method="sinkhorn_log", stopThr=1e-9)
    ours = fs.metrics.sinkhorn(x, y, eps=1.0, debias=False)
    print(f"POT <P, C> at eps = 1: {float(ot_pot):.6f}, flowsampler: {ours.cost:.6f}")
    assert abs(float(ot_pot) - ours.cost) < 1e-3 * ours.cost
