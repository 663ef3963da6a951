#pragma once
/// \file Integrators that move a whole particle cloud along a Field.
///
/// Fixed-step methods (euler, heun, midpoint, rk4; the frozen-denoiser steps
/// ddim and dpmpp2m) over a time grid, adaptive dopri5 with a cloud-wide error
/// norm, Euler-Maruyama on the reverse SDE with an optional Langevin
/// corrector, and exact log-likelihoods by integrating -div v. Time runs
/// either way (t: 0 -> 1 samples, 1 -> 0 encodes). Any fields::Field plugs in:
/// the exact GMM flow (GmmFlow), kernel drifts, a user functor (pointwise.hpp).
#include <functional>
#include <string>
#include <vector>

#include "flowsampler/core/communicator.hpp"
#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"
#include "flowsampler/core/random.hpp"
#include "flowsampler/fields/field.hpp"
#include "flowsampler/paths/path.hpp"
#include "flowsampler/core/names.hpp"

namespace flowsampler::integrate {

/// ddim: the frozen-denoiser exponential step; dpmpp2m: its second-order
/// multistep variant (DPM-Solver++(2M)), one denoiser evaluation per step.
enum class Method { euler, heun, midpoint, rk4, ddim, dpmpp2m };

/// The names of Method values: parsing, printing and the CLI's choices (core/names.hpp).
inline constexpr NameTable<Method, 6> method_names{{
    {Method::euler, "euler"},
    {Method::heun, "heun"},
    {Method::midpoint, "midpoint"},
    {Method::rk4, "rk4"},
    {Method::ddim, "ddim"},
    {Method::dpmpp2m, "dpmpp2m"}}};

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

/// Checks a grid: at least 2 times, strictly monotone, finite, and inside
/// the path's domain (the path overload).
void validate_grid(const std::vector<double>& grid);
void validate_grid(const std::vector<double>& grid, const paths::Path& path);

struct Report {
  long long nfe = 0;  ///< field evaluations, each over the whole cloud
  int steps = 0;      ///< steps taken (accepted ones for dopri5)
  int rejected = 0;   ///< dopri5: steps rejected by the error test
};

/// What every integrator accepts besides the grid.
template <class Real>
struct Options {
  /// Called after each (accepted) step with its index, the new time and the cloud.
  std::function<void(int step, double t, const ParticleSet<Real>& z)> on_step;
  /// The steps (0-based, increasing) after which on_step is called; empty:
  /// after every step. Fixed-step methods and the reverse SDE. On the host a
  /// pointwise field (Field::pointwise) is integrated block by block from one
  /// such step to the next, each block staying in cache (the cloud is only
  /// whole at these steps), so fewer calls are faster.
  std::vector<int> on_step_at;
  /// When set, also integrates d/dt log p_t(Z_t) = -div v with the same
  /// stages (the field's exact divergence), in double: on entry N x 1
  /// starting values in the context's memory (e.g. log p of your initial law)
  /// or an empty set to start from the field's own log-density at the first
  /// time; on return log p at the last time along each particle's path (on the
  /// device for a device context: to_host() it). Velocity methods only (not
  /// ddim/dpmpp2m/sde).
  ParticleSet<double>* log_density = nullptr;
  /// When z is one rank's shard of a cloud split over `comm` (null: z is the
  /// whole cloud): the cloud-wide quantities (dopri5's error norms, the
  /// Langevin corrector's step) are reduced over every rank, so all ranks
  /// take the same steps. Random numbers follow z.first_row().
  const Communicator* comm = nullptr;
};

/// Moves z along dz/dt = v(t, z) over the grid with a fixed-step `method`.
/// ddim/dpmpp2m need a field with a denoiser and a path. Empirical targets
/// need grids that stop before b(t) = 0 (the field raises otherwise).
template <class Real>
Report integrate(const Context& ctx, const fields::Field<Real>& field, ParticleSet<Real>& z,
                 const std::vector<double>& grid, Method method, const Options<Real>& options = {});

/// How dopri5 measures a step's local error e against sc = atol + rtol max(|z|, |z'|),
/// over all N x d coordinates of the cloud: root mean square of e / sc, or its max.
enum class ErrorNorm { rms, max };

struct AdaptiveOptions {
  double rtol = 1e-6, atol = 1e-6;
  ErrorNorm norm = ErrorNorm::rms;
  int max_steps = 100000;  ///< accepted + rejected; Error when exceeded
  double first_step = 0;   ///< 0: chosen from the field (Hairer's rule, one extra evaluation)
  double max_step = 0;     ///< 0: no bound besides |t1 - t0|
};

/// Dormand-Prince 5(4) from t0 to t1 (either direction) with FSAL and the
/// PI step-size controller of Hairer & Wanner's DOPRI5, one step size for the
/// whole cloud. Report.steps and .rejected count accepted and rejected steps.
/// Error when max_steps is exceeded or the step size underflows.
template <class Real>
Report integrate_adaptive(const Context& ctx, const fields::Field<Real>& field, ParticleSet<Real>& z, double t0,
                          double t1, const AdaptiveOptions& adaptive = {}, const Options<Real>& options = {});

struct SdeOptions {
  double eta = 1.0;         ///< g^2 = 2 eta |b b' - b^2 a'/a|: 0 the ODE, 1 the classic reverse SDE
  int langevin_steps = 0;   ///< corrector steps after each predictor step
  double langevin_snr = 0.16;
};

/// Euler–Maruyama for the reverse SDE dZ = [v + (g^2 / 2) s] dt + g dW with
/// g^2 = 2 eta |b b' - b^2 a' / a|, which keeps the marginals of the path for
/// any eta >= 0 (eta = 0: the Euler ODE step). Noise from ctx's
/// counter-based stream. After each step, `langevin_steps` corrector steps
/// (langevin_correct) at the new time. Needs a field with velocity, score and
/// a path, and a(t) != 0 at every step start when eta > 0 (g is infinite
/// where a = 0: the vp path with a finite horizon qualifies; others should
/// start after t = 0).
template <class Real>
Report integrate_sde(Context& ctx, const fields::Field<Real>& field, ParticleSet<Real>& z,
                     const std::vector<double>& grid, const SdeOptions& sde = {}, const Options<Real>& options = {});

/// Unadjusted Langevin steps z += e s_t(z) + sqrt(2 e) xi that leave p_t
/// invariant (up to O(e)), with e = 2 (snr |xi| / |s|)^2 from the mean norms
/// over the cloud (the predictor-corrector rule of Song et al. 2021). Returns
/// the number of field evaluations. comm: as in Options (the mean norms are
/// then over the whole sharded cloud).
template <class Real>
long long langevin_correct(Context& ctx, const fields::Field<Real>& field, ParticleSet<Real>& z, double t, int steps,
                           double snr, const Communicator* comm = nullptr);

}  // namespace flowsampler::integrate
