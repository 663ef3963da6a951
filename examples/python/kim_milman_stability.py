"""The Kim-Milman (probability-flow) map pushes the same noise to two targets; its L2 change
shrinks with the targets' difference (Chewi, Pooladian, Zhang: stability in relative Fisher
information). Two Gaussians N(0, I) and N(h e1, I): along the vp path (horizon T) Z_t ~ N(a(t) m, I),
so the flow map from t = 0 is the translation by (1 - e^-T) m and ||T_mu - T_nu||_L2 = (1 - e^-T) h."""
import numpy as np

import flowsampler as fs

noise = np.random.default_rng(0).normal(size=(5000, 2))
base = fs.GaussianMixture([1.0], [[0.0, 0.0]], [1.0])
for h in [1.0, 0.5, 0.25]:
    shifted = fs.GaussianMixture([1.0], [[h, 0.0]], [1.0])
    t_mu = fs.sample(base, init=noise, path="vp", horizon=6, integrator="rk4", steps=60, precision="double")
    t_nu = fs.sample(shifted, init=noise, path="vp", horizon=6, integrator="rk4", steps=60, precision="double")
    l2, worst = fs.metrics.map_distance(t_mu, t_nu)
    print(f"h = {h:4}: ||T_mu - T_nu||_L2 = {l2:.5f}, max = {worst:.5f}")
    exact = (1 - np.exp(-6)) * h
    assert abs(l2 - exact) < 1e-5 * h and abs(worst - exact) < 1e-5 * h, "the maps should differ by the exact shift"
