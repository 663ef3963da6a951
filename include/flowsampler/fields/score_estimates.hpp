#pragma once
/// \file Estimates of the score grad log rho of a cloud's empirical law rho
/// (N x d), evaluated at the rows of `at` (M x d: the cloud itself for a
/// particle flow, other points for a reverse process), on the pairwise
/// engine. The drift fields kde_score, blob and ot_score and the JKO
/// objectives all use these.
#include "flowsampler/core/communicator.hpp"
#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"

namespace flowsampler::fields {

/// grad log (k_h * rho)(y), k_h the Gaussian kernel of bandwidth h > 0.
template <class Real>
ParticleSet<Real> kde_score(const Context& ctx, double h, const ParticleSet<Real>& cloud, const ParticleSet<Real>& at);

/// The blob estimate (Carrillo, Craig & Patacchini 2019), grad of the first
/// variation of int rho log(k_h * rho): kde_score(y) + (1/N) sum_j
/// grad_y k_h(y, x_j) / (k_h * rho)(x_j), (k_h * rho)(x) = (1/N) sum_l k_h(x, x_l).
///
/// Split over ranks (comm of size > 1): every rank passes the whole cloud and
/// its own shard of it, rows comm->shard(cloud.n()), as `at` (possibly no
/// rows), and gets the estimate at those rows. The weights' pass over the
/// cloud is then the ranks' shift passes, their N values exchanged.
template <class Real>
ParticleSet<Real> blob_score(const Context& ctx, double h, const ParticleSet<Real>& cloud, const ParticleSet<Real>& at,
                             const Communicator* comm = nullptr);

/// The self-entropic-OT estimate (2 / eps) (T_eps(y) - y), T_eps the
/// barycentric projection of the symmetric Sinkhorn self-plan of the cloud
/// for the cost |x - y|^2 / 2; `tol` the Sinkhorn marginal tolerance.
/// With comm (size > 1) the Sinkhorn solve is split over the ranks
/// (SinkhornOptions::comm); every rank passes the whole cloud, and `at` may
/// have no rows.
template <class Real>
ParticleSet<Real> ot_score(const Context& ctx, double eps, double tol, const ParticleSet<Real>& cloud,
                           const ParticleSet<Real>& at, const Communicator* comm = nullptr);

/// The default eps of ot_score: 0.05 x the median squared pairwise distance
/// of (up to 1000 strided points of) the cloud, which lives in ctx's memory
/// (only those points travel to the host).
template <class Real>
double default_ot_eps(const Context& ctx, const ParticleSet<Real>& cloud);

}  // namespace flowsampler::fields
