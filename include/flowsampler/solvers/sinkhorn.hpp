#pragma once
/// \file Entropic optimal transport (log-domain Sinkhorn) and the Sinkhorn
/// divergence for the squared Euclidean cost, on the pairwise engine:
/// O(N + M) memory, 2 N M soft-min evaluations per iteration. A solver below
/// the fields (Sinkhorn-normalized drifts, OT scores), the metrics, JKO and
/// Monge; flowsampler/metrics/sinkhorn.hpp names it in metrics:: as well.
#include <vector>

#include "flowsampler/core/communicator.hpp"
#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"

namespace flowsampler::solvers {

struct SinkhornOptions {
  double eps = 0;          ///< regularization, in squared-distance units; > 0 (required)
  double scaling = 0.5;    ///< eps-scaling: eps runs from the squared diameter down by this factor per stage
  double tol = 1e-5;       ///< stop at the final eps when the L1 marginal error |P 1 - a|_1 < tol
  int max_iter = 10000;    ///< iterations at the final eps; Error when not converged by then
  /// Over-relaxation w in [1, 2) at the final eps: f <- (1 - w) f + w T(g)
  /// (Thibault et al. 2017): 5-15x fewer iterations at small eps here; falls
  /// back to w = 1 should the marginal error grow past 4x its best.
  double relaxation = 1.8;
  bool debias = true;      ///< also solve OT_eps(a, a) and OT_eps(b, b): the Sinkhorn divergence
  /// Split the N x M work of every iteration over these ranks (null: one
  /// process). Every rank passes both clouds whole; each computes the
  /// soft-mins of its shard of rows, and the potentials are exchanged after
  /// each half-step (O(N + M) values), so every rank ends with the same
  /// result, equal to one process's up to the order of the final sums.
  const Communicator* comm = nullptr;
};

struct SinkhornResult {
  double ot = 0;          ///< OT_eps(a, b) = min <P, C> + eps KL(P | a x b) = <a, f> + <b, g> at convergence
  double cost = 0;        ///< <P, C>, the transport cost of the entropic plan (-> W2^2 as eps -> 0)
  double divergence = 0;  ///< S_eps = OT_eps(a, b) - (OT_eps(a, a) + OT_eps(b, b)) / 2 (NaN without debias)
  ParticleSet<double> f, g;  ///< dual potentials on x (N x 1) and y (M x 1), in the context's memory
  int iterations = 0;     ///< at the final eps (of the a-b problem)
  int stages = 0;         ///< eps values visited, the final one included
  double marginal_error = 0;
};

/// Uniform weights a = 1/N, b = 1/M, cost C = |x - y|^2. Alternating
/// (Gauss-Seidel) log-domain updates f = -eps log sum_j b_j exp((g_j - C_ij)/eps)
/// and likewise for g, with eps-scaling from the squared diameter of the
/// union's bounding box: stable in float for eps down to 1e-3 diameter^2 and
/// below (no exp ever overflows: every soft-min is max-shifted). On a device
/// context the solver's state stays on the device; the host reads one scalar
/// per iteration at the final eps (the marginal error). Error on mismatched
/// d, empty sets, non-finite coordinates, eps <= 0, scaling outside (0, 1),
/// non-convergence.
template <class Real>
SinkhornResult sinkhorn(const Context& ctx, const ParticleSet<Real>& x, const ParticleSet<Real>& y,
                        const SinkhornOptions& options);

/// The symmetric problem OT_eps(a, a) of one cloud: its potential p (N
/// values, the fixed point p = T(p); OT_eps(a, a) = 2 mean(p)), with the same
/// eps-scaling and stopping rule as sinkhorn().
template <class Real>
ParticleSet<double> sinkhorn_self_potential(const Context& ctx, const ParticleSet<Real>& x, const SinkhornOptions& options);

/// Barycentric projection of the entropic plan onto y: T(x_i) = sum_j P_ij y_j /
/// sum_j P_ij with P_ij proportional to exp((g_j - |x_i - y_j|^2) / eps) / M,
/// g the dual potential on y (M x 1, from sinkhorn() or sinkhorn_self_potential()).
template <class Real>
ParticleSet<Real> barycentric_projection(const Context& ctx, const ParticleSet<Real>& x, const ParticleSet<Real>& y,
                                         const ParticleSet<double>& g, double eps);

}  // namespace flowsampler::solvers
