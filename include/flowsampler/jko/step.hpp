#pragma once
/// \file One particle JKO step: the backward-Euler step
///   X_{k+1} = X_k - h grad_W F(rho_{k+1})(X_{k+1}),
/// rho_{k+1} the law of X_{k+1} itself, solved by a damped fixed-point
/// iteration X <- X + w (X_k - h G(X) - X), G(X) = grad_W F(rho_X)(X), with
/// Anderson mixing and adaptive damping, until the solver residual
///   solver_eps = || (X_{k+1} - X_k) / h + G(X_{k+1}) ||_{L2(rho_{k+1})}
/// (the root mean square over the particles) is below the tolerance. G uses
/// the score *estimator*, so solver_eps is the first-order residual of the
/// estimator's surrogate objective: it says the solve converged, not that
/// the step is close to the exact JKO step of F. The seed's eps_k (Assumption
/// 1, with the true score of rho_{k+1}) is measured independently, e.g.
/// against the Gaussian fits (bures_first_order_residual, StepRecord::eps_gaussian).
/// The score estimator's parameters are fixed from X_k for the whole step, so
/// every evaluation of the step sees the same functional. The explicit (forward Euler) step is an option.
///
/// On a device context the iterate and its history stay on the device (in
/// double): per gradient evaluation the host reads one residual norm and,
/// with Anderson mixing, the m x (m + 1) Gram entries of the small solve.
///
/// Split over ranks (StepOptions::comm, `mpirun`): every rank passes the
/// whole cloud X_k and gets the whole X_{k+1}; each iterates its shard of
/// rows (comm->shard(N)) and evaluates G there against the whole current
/// cloud, which the ranks exchange once per gradient evaluation (N x d
/// values), with the residual's and the Gram matrix's partial sums added in
/// rank order. Every rank then takes the same decisions, and the result
/// agrees with one process's up to the order of those sums.
#include "flowsampler/core/communicator.hpp"
#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"
#include "flowsampler/jko/objective.hpp"
#include "flowsampler/jko/score.hpp"

namespace flowsampler::jko {

struct StepOptions {
  /// Stop when solver_eps <= tol. 0 = automatic: 1e-7 (double) or 1e-3 (float)
  /// times solver_eps at X = X_k, i.e. rms |G(X_k)|.
  double tol = 0;
  int max_inner = 200;      ///< gradient evaluations at most
  double damping = 1.0;     ///< w in (0, 1]
  int anderson = 5;         ///< Anderson memory (0: plain damped fixed point)
  bool adaptive = true;     ///< halve w (and restart the mixing from the best iterate) when eps grows
  bool explicit_step = false;  ///< forward Euler X_k - h grad_W F(rho_k)(X_k) instead
  /// The ranks that split the step (null or one rank: this process alone).
  const Communicator* comm = nullptr;
};

template <class Real>
struct StepResult {
  ParticleSet<Real> x;       ///< X_{k+1}
  double solver_eps = 0;     ///< the surrogate residual at X_{k+1} (explicit: of the backward condition too)
  double tol = 0;            ///< the tolerance used
  int inner = 0;             ///< gradient evaluations of the inner iteration
  bool converged = false;    ///< solver_eps <= tol (explicit steps: false)
  ScoreParams score;         ///< the score estimator's parameters of this step
};

/// One JKO step of size h > 0 from the cloud x (N >= 2). When the inner
/// iteration does not converge the best iterate comes back with
/// converged = false. Error on h <= 0, an empty cloud, d that differs from
/// the objective's, bad options.
template <class Real>
StepResult<Real> jko_step(const Context& ctx, const Objective<Real>& objective, const ParticleSet<Real>& x, double h,
                          const StepOptions& options = {});

/// The solver residual of a candidate step x -> next with the score
/// parameters `params` (what jko_step reports as solver_eps; an independent
/// check). With comm, split over its ranks as jko_step is (x, next whole on every rank).
template <class Real>
double first_order_residual(const Context& ctx, const Objective<Real>& objective, const ParticleSet<Real>& x,
                            const ParticleSet<Real>& next, double h, const ScoreParams& params,
                            const Communicator* comm = nullptr);

}  // namespace flowsampler::jko
