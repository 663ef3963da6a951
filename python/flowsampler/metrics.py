"""Distances and moments of particle clouds (the CLI's ``flowsampler metrics``).

x and y are (N, d) and (M, d) arrays; the computation runs in float64 when either is
float64, else in float32. A Fortran-ordered array of that dtype is read in place on a
CPU context (``zero_copy(x)`` tells); other layouts are converted once. ``context``
picks the backend (default: one per process on backend "auto", as the CLI's).
"""
from ._core import metrics as _m

bures_w2_squared = _m.bures_w2_squared
covariance = _m.covariance
energy_distance = _m.energy_distance
exact_w2_squared = _m.exact_w2_squared
gelbrich_w2_squared = _m.gelbrich_w2_squared
knn_entropy = _m.knn_entropy
knn_kl_divergence = _m.knn_kl_divergence
map_distance = _m.map_distance
mean = _m.mean
mmd_squared = _m.mmd_squared
sinkhorn = _m.sinkhorn
SinkhornResult = _m.SinkhornResult
sliced_w2 = _m.sliced_w2
zero_copy = _m.zero_copy


def moments(x, *, unbiased=True, context=None):
    """(mean (d,), covariance (d, d)) of the cloud."""
    return mean(x, context=context), covariance(x, unbiased=unbiased, context=context)


__all__ = ["SinkhornResult", "bures_w2_squared", "covariance", "energy_distance", "exact_w2_squared",
           "gelbrich_w2_squared", "knn_entropy", "knn_kl_divergence", "map_distance", "mean", "mmd_squared", "moments",
           "sinkhorn", "sliced_w2", "zero_copy"]
