#pragma once
/// \file How much an explicit fixed-step method gets a GMM flow's spread wrong, before running it.
///
/// Inside a component the exact flow is affine: along an eigen-direction of
/// the component's covariance with whitened variance s, a particle's offset
/// from the component's moving centre is multiplied by
///   sigma(t1) / sigma(t0),   sigma(t)^2 = a(t)^2 s + b(t)^2,
/// i.e. it follows y' = lambda(t) y with lambda = (a a' s + b b') / sigma^2.
/// A Runge-Kutta step applied to that scalar equation gives exactly what the
/// integrator does to the offset, so the ratio of the numerical to the exact
/// factor, multiplied over the steps, is the relative error of the final
/// spread along that direction: exact for a Gaussian target. For a mixture it
/// is each component's error as long as the components are apart from each
/// other (relative to sigma(t)) at the steps that matter; where they overlap
/// there, the exchange of particles between them changes it (ring of 8 at
/// radius 4, std 0.3, vp, 100 heun steps: predicted 4.4% too narrow, measured
/// 4.0%; two components 10 std apart but overlapping at t = 0.98, 50 rk4
/// steps: predicted 14%, measured 4.4%).
/// Near a narrow component lambda is large and negative; where a step has
/// h lambda below the method's real stability bound, the step amplifies what
/// the flow damps and the spread error grows without limit (a vp path to
/// variances of 1e-4 with 50 rk4 steps: total variance 1e3 times the law's).
/// Costs steps x stages x (distinct eigenvalues) path evaluations, no particles.
#include <vector>

#include "flowsampler/integrate/integrate.hpp"
#include "flowsampler/paths/path.hpp"
#include "flowsampler/targets/gaussian_mixture.hpp"

namespace flowsampler::integrate {

struct SpreadCheck {
  /// max over the eigen-directions of ||numerical / exact spread| - 1| at the grid's end
  double spread_error = 0;
  double variance = 0;        ///< the whitened component variance s where it is met
  double worst_step_rate = 0; ///< the most negative h lambda at a stage time
  double worst_t = 0;         ///< the start of that step
  int unstable_steps = 0;     ///< steps with h lambda < -stability_bound(method) at a stage time
};

/// The real stability interval [-bound, 0] of h lambda: 2 (euler, heun,
/// midpoint), 2.785 (rk4); 0 for ddim and dpmpp2m (not checked here).
double stability_bound(Method method);

/// The check above for an explicit method on `grid` (either direction), the
/// target in the noise's whitened coordinates (GmmField::whitened_target).
/// Directions with s = 0 (Dirac atoms) are skipped. Error for ddim/dpmpp2m.
SpreadCheck check_spread(const targets::GaussianMixture& whitened_target, const paths::Path& path,
                         const std::vector<double>& grid, Method method);

}  // namespace flowsampler::integrate
