#pragma once
/// \file Nearest-neighbour (Kozachenko–Leonenko) estimators of entropy and
/// KL divergence, on the pairwise engine's k-min reduction.
#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"

namespace flowsampler::metrics {

/// Differential entropy of the law of x (nats): psi(N) - psi(k) + log V_d
/// + (d / N) sum_i log r_i, r_i the distance from x_i to its k-th nearest
/// other point, V_d the volume of the unit ball. Consistent as N -> inf for
/// fixed k; its bias grows with d. Error on N <= k, k outside [1, 31],
/// duplicate points (r_i = 0, or more than 1% of the points with a copy: the
/// estimate would be biased by them), and a cloud on a lower-dimensional
/// affine subspace (no density: the entropy is -infinity).
template <class Real>
double knn_entropy(const Context& ctx, const ParticleSet<Real>& x, int k = 5);

/// KL(P || Q) from x ~ P (N points) and y ~ Q (M points) (Wang, Kulkarni &
/// Verdu 2009): (d / N) sum_i log(nu_i / rho_i) + log(M / (N - 1)), rho_i the
/// k-th neighbour distance of x_i within x, nu_i within y. The same errors
/// as knn_entropy, for x and (flatness) for y.
template <class Real>
double knn_kl_divergence(const Context& ctx, const ParticleSet<Real>& x, const ParticleSet<Real>& y, int k = 5);

}  // namespace flowsampler::metrics
