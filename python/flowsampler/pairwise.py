"""N x M pairwise reductions without storing the N x M matrix (the library's
``flowsampler/pairwise/pairwise.hpp``): kernel sums and their gradients, softmax
(mean-shift) means, the soft-min of log-domain Sinkhorn and k nearest neighbours.

x and y are (N, d) and (M, d) arrays; the computation runs in float64 when any array is
float64, else in float32, and results are in that dtype. Weights are (M,) arrays (finite
values). ``context`` picks the backend (default: one per thread on backend "auto").
"""
from ._core import pairwise as _p

kernel_sum = _p.kernel_sum
kernel_grad_sum = _p.kernel_grad_sum
mean_shift = _p.mean_shift
softmin_sqdist = _p.softmin_sqdist
kmin_sqdist = _p.kmin_sqdist

__all__ = ["kernel_grad_sum", "kernel_sum", "kmin_sqdist", "mean_shift", "softmin_sqdist"]
