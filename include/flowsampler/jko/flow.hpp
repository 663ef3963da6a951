#pragma once
/// \file The JKO scheme on the host: step sizes h_k, stopping rules, and a
/// per-step record of diagnostics. The host drives the steps; the pairwise
/// engine does the N x N work of every gradient evaluation.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"
#include "flowsampler/jko/objective.hpp"
#include "flowsampler/jko/step.hpp"

namespace flowsampler::jko {

/// Step sizes h_k: constant h, geometric h0 r^k, or a user list.
class StepSchedule {
 public:
  static StepSchedule constant(double h);
  static StepSchedule geometric(double h0, double ratio);
  static StepSchedule list(std::vector<double> steps);
  /// h_k (k >= 0); Error beyond the end of a list.
  double at(std::size_t k) const;
  /// The number of steps a list holds (0: unbounded).
  std::size_t size() const { return list_.size(); }

 private:
  double h0_ = 0, ratio_ = 1;
  std::vector<double> list_;
};

struct StepRecord;

struct FlowOptions {
  StepSchedule schedule = StepSchedule::constant(0.1);
  std::size_t max_steps = 10;     ///< also at most the schedule's list length
  double w2_tol = 0;              ///< stop once the Bures W2 to pi is below this (0: off)
  double kl_tol = 0;              ///< stop once the KL estimate to pi is below this (0: off)
  StepOptions step;
  bool keep_clouds = false;       ///< keep X_0..X_K (a JKO flow model needs them)
  /// Diagnostics: the MMD (Gaussian kernel of bandwidth mmd_bandwidth) and
  /// the KL estimate use at most this many particles (strided) and as many
  /// fresh draws of pi; 0 switches them off.
  std::size_t diagnostic_points = 1024;
  double mmd_bandwidth = 1.0;
  bool lipschitz = true;          ///< Lipschitz estimates of the step maps (on the diagnostic points)
  std::uint64_t seed = 0;         ///< draws of pi (a stream derived from it) and finite-difference directions
  /// Called after every step with its record (progress reports).
  std::function<void(const StepRecord&)> on_step;
};

/// What happened at step k (X_k -> X_{k+1}); k = -1 is the initial cloud.
struct StepRecord {
  int k = -1;
  double h = 0;
  /// The solver's residual: the first-order residual of the estimator's
  /// surrogate objective (step.hpp), the convergence figure of the solve.
  double solver_eps = 0;
  /// The seed's eps_k (Assumption 1) between the Gaussian fits of X_k and
  /// X_{k+1} when pi is one Gaussian (bures_first_order_residual): the true
  /// JKO objective's first-order residual, independent of the estimator;
  /// exact when the clouds are Gaussian. NaN otherwise and for k = -1.
  double eps_gaussian = std::numeric_limits<double>::quiet_NaN();
  double tol = 0;
  int inner = 0;              ///< gradient evaluations
  bool converged = true;
  ScoreParams score;          ///< estimator parameters of the step
  std::vector<double> mean, cov;  ///< of X_{k+1} (cov normalized by N)
  /// Bures W2 between the Gaussian fits of X_{k+1} and pi (pi's exact
  /// moments): W2 itself when both are Gaussian, a lower bound otherwise.
  double w2 = std::numeric_limits<double>::quiet_NaN();
  /// KL(rho_{k+1} || pi) = -H(rho_{k+1}) - E log pi: the kNN (Kozachenko–
  /// Leonenko, k = 5) entropy of the diagnostic points and the exact log pi.
  double kl = std::numeric_limits<double>::quiet_NaN();
  /// KL(N(mean, cov) || pi), closed form, when pi is one Gaussian.
  double kl_gaussian = std::numeric_limits<double>::quiet_NaN();
  double mmd2 = std::numeric_limits<double>::quiet_NaN();  ///< MMD^2 to fresh draws of pi
  /// Finite-difference Lipschitz estimates (max over the diagnostic points)
  /// of the reverse step map S_k(y) = y + h grad_W F(rho_{k+1})(y), explicit,
  /// and of the forward map T_k = S_k^-1 at the points S_k(x).
  double lipschitz_reverse = std::numeric_limits<double>::quiet_NaN();
  double lipschitz_forward = std::numeric_limits<double>::quiet_NaN();
  double seconds = 0;
};

template <class Real>
struct FlowResult {
  ParticleSet<Real> x;                    ///< the final cloud X_K
  std::vector<StepRecord> records;        ///< the initial record, then one per step
  std::vector<ParticleSet<Real>> clouds;  ///< X_0..X_K when keep_clouds
  std::vector<double> steps;              ///< h_0..h_{K-1}
  std::vector<ScoreParams> score;         ///< the estimator parameters of each step
  bool stopped_by_tolerance = false;
};

/// Runs the JKO scheme from x0. Error on an empty or wrong-dimension cloud,
/// h_k <= 0, max_steps = 0.
template <class Real>
FlowResult<Real> run_jko(const Context& ctx, const Objective<Real>& objective, const ParticleSet<Real>& x0,
                         const FlowOptions& options);

/// The diagnostics of a cloud against the objective's target (the record's
/// mean, cov, w2, kl, mmd2; the step fields untouched). `pi_draws` are fresh
/// draws of pi for the sample-based ones (may be empty: those stay NaN).
template <class Real>
void diagnose(const Context& ctx, const Objective<Real>& objective, const ParticleSet<Real>& x,
              const ParticleSet<Real>& pi_draws, const FlowOptions& options, StepRecord& record);

}  // namespace flowsampler::jko
