"""A Monge map T = grad phi (a convex ICNN potential) learned by the implicit constrained-drifting
scheme from one Gaussian towards another (monge-maps-constrained-drifting): the energy distance
to the target falls, the pushed cloud's mean moves onto the target's, and the map saved here
is the directory `flowsampler monge-apply --map` reads."""
import tempfile

import numpy as np

import flowsampler as fs

source = {"type": "gaussian_mixture", "dim": 2, "weights": [1], "means": [[2, -1]], "covariances": [[[0.5, 0.1], [0.1, 0.3]]]}
target = {"type": "gaussian_mixture", "dim": 2, "weights": [1], "means": [[0, 0]], "covariances": [1.0]}
T = fs.monge(source, target, potential="icnn", widths=[8, 8], method="implicit", tau=0.5, steps=4, inner=20, lr=0.05,
             batch=100, eval_points=500, seed=1)
ed = [T.report["energy_distance_identity"]] + [r["energy_distance"] for r in T.report["records"]]
print("energy distance to the target per step:", " ".join(f"{v:.3f}" for v in ed))
assert ed[-1] < 0.3 * ed[0], "the implicit scheme should close most of the gap"

x = fs.GaussianMixture.from_dict(source).sample(5000, seed=2, precision="double")
y = T.apply(x)
print("mean before", np.round(x.mean(axis=0), 3), "after", np.round(y.mean(axis=0), 3))
with tempfile.TemporaryDirectory() as d:
    T.save(d)
    np.testing.assert_array_equal(fs.MongeMap.load(d).apply(x), y)
