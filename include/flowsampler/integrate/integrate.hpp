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
#include "flowsampler/core/random.hpp"
#include "flowsampler/fields/gmm_field.hpp"
#include "flowsampler/paths/path.hpp"

namespace flowsampler::integrate {

/// ddim: the frozen-denoiser exponential step; dpmpp2m: its second-order
/// multistep variant (DPM-Solver++(2M)), one denoiser evaluation per step.
enum class Method { euler, heun, midpoint, rk4, ddim, dpmpp2m };

/// "euler", "heun", "midpoint", "rk4", "ddim", "dpmpp2m"; Error naming `what` otherwise.
Method parse_method(const std::string& name, const std::string& what = "integrator");
std::string to_string(Method m);

/// K uniform steps from t0 to t1 (t1 < t0 integrates backwards). Error when
/// steps < 1 or a time is outside the path's domain.
std::vector<double> uniform_grid(double t0, double t1, int steps);

/// K steps from t0 to t1, uniform in the log signal-to-noise ratio
/// lambda(t) = log(a^2 / b^2). Where an end has a = 0 or b = 0 (lambda
/// infinite, or sigma = 0 for karras), that end stays in the grid and the
/// uniform spacing runs from the point 1e-3 (t1 - t0) inside it. Error when lambda is not monotone
/// between t0 and t1 (e.g. the overshoot path).
std::vector<double> logsnr_grid(const paths::Path& path, double t0, double t1, int steps);

/// Karras et al. (2022) steps: sigma = b / a from sigma(t0) to sigma(t1) with
/// sigma_i^(1/rho) uniform (rho = 7 concentrates steps near the data end),
/// mapped back to t by inverting b / a. Infinite ends are handled as in
/// logsnr_grid.
std::vector<double> karras_grid(const paths::Path& path, double t0, double t1, int steps, double rho = 7.0);

/// "uniform", "logsnr" or "karras" grids from t0 to t1; Error otherwise.
std::vector<double> make_grid(const std::string& schedule, const paths::Path& path, double t0, double t1, int steps);

/// Checks a grid: at least 2 times, strictly monotone, finite.
void validate_grid(const std::vector<double>& grid, const paths::Path& path);

struct Report {
  long long nfe = 0;  ///< velocity (or denoiser) evaluations, each over the whole cloud
  int steps = 0;
};

/// Moves z along dz/dt = v(t, z) over the grid with `method`. `on_step(k, t, z)`
/// is called after each step (may be empty). Empirical targets need grids that
/// stop before b(t) = 0 (the field raises otherwise).
///
/// With `log_density` non-null, also integrates d/dt log p_t(Z_t) = -div v
/// with the same stages (exact divergence), starting from the exact log p at
/// the first grid time: on return it holds log p at the last grid time along
/// each particle's path (N values). Not available with ddim.
template <class Real>
Report integrate(const Context& ctx, const fields::GmmField& field, const paths::Path& path, ParticleSet<Real>& z,
                 const std::vector<double>& grid, Method method,
                 const std::function<void(int, double, const ParticleSet<Real>&)>& on_step = {},
                 std::vector<double>* log_density = nullptr);

/// Euler–Maruyama for the reverse SDE dZ = [v + (g^2 / 2) s] dt + g dW with
/// g^2 = 2 eta |b b' - b^2 a' / a|, which keeps the marginals of the path for
/// any eta >= 0 (eta = 0: the Euler ODE step; eta = 1: the classic reverse
/// SDE). Noise from ctx's counter-based stream (one draw per step). Needs
/// a(t) != 0 at every step start (g is infinite where a = 0): the vp path with a
/// finite horizon qualifies; others should start after t = 0.
template <class Real>
Report integrate_sde(Context& ctx, const fields::GmmField& field, const paths::Path& path, ParticleSet<Real>& z,
                     const std::vector<double>& grid, double eta,
                     const std::function<void(int, double, const ParticleSet<Real>&)>& on_step = {});

}  // namespace flowsampler::integrate
