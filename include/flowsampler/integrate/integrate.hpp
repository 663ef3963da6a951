#pragma once
/// \file Fixed-step integrators for the reverse flow of an exact GMM field.
///
/// First part of the integrators issue: euler, heun (trapezoidal RK2),
/// midpoint, rk4 and the frozen-denoiser exponential step ddim, over a
/// user or uniform time grid (either direction), with the count of velocity
/// evaluations. Adaptive, SDE and likelihood integration come later.
#include <functional>
#include <string>
#include <vector>

#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"
#include "flowsampler/fields/gmm_field.hpp"
#include "flowsampler/paths/path.hpp"

namespace flowsampler::integrate {

enum class Method { euler, heun, midpoint, rk4, ddim };

/// "euler", "heun", "midpoint", "rk4", "ddim"; Error naming `what` otherwise.
Method parse_method(const std::string& name, const std::string& what = "integrator");
std::string to_string(Method m);

/// K uniform steps from t0 to t1 (t1 < t0 integrates backwards). Error when
/// steps < 1 or a time is outside the path's domain.
std::vector<double> uniform_grid(double t0, double t1, int steps);

/// Checks a grid: at least 2 times, strictly monotone, finite.
void validate_grid(const std::vector<double>& grid, const paths::Path& path);

struct Report {
  long long nfe = 0;  ///< velocity (or denoiser) evaluations, each over the whole cloud
  int steps = 0;
};

/// Moves z along dz/dt = v(t, z) over the grid with `method`. `on_step(k, t, z)`
/// is called after each step (may be empty). Empirical targets need grids that
/// stop before b(t) = 0 (the field raises otherwise).
template <class Real>
Report integrate(const Context& ctx, const fields::GmmField& field, const paths::Path& path, ParticleSet<Real>& z,
                 const std::vector<double>& grid, Method method,
                 const std::function<void(int, double, const ParticleSet<Real>&)>& on_step = {});

}  // namespace flowsampler::integrate
