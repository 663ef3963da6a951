// Fixed-step integrators over a time grid: explicit Runge-Kutta methods on
// the velocity, and the frozen-denoiser exponential steps (ddim, dpmpp2m).
#include <cmath>

#include "flowsampler/core/error.hpp"
#include "flowsampler/integrate/integrate.hpp"
#include "integrate/cloud_ops.hpp"
#include "integrate/row_blocks.hpp"
#include "integrate/tableau.hpp"

namespace flowsampler::integrate {

namespace {

using detail::Tableau;
using detail::tableau;

// One explicit Runge-Kutta step, in place: z += h sum_s b_s k_s. `zs` is the
// stage-point buffer (n x d, reused from step to step).
template <class Real>
void rk_step(const Context& ctx, const fields::Field<Real>& field, const Tableau& T, double t, double h,
             ParticleSet<Real>& z, ParticleSet<Real>& zs, ParticleSet<double>* ll, long long& nfe) {
  detail::Stage<Real> k[4];
  for (int s = 0; s < T.stages; ++s) {
    const auto& a = T.a[s];
    if (s > 0) detail::lincomb_into(ctx, zs, z, {{h * a[0], &k[0].v}, {h * a[1], &k[1].v}, {h * a[2], &k[2].v}});
    k[s] = detail::eval_stage(ctx, field, t + T.c[s] * h, s == 0 ? z : zs, ll != nullptr, nfe);
  }
  // Weights beyond the method's stages are 0 (the tableau is zero-filled), so those terms are skipped.
  detail::lincomb_into(ctx, z, z, {{h * T.b[0], &k[0].v}, {h * T.b[1], &k[1].v}, {h * T.b[2], &k[2].v}, {h * T.b[3], &k[3].v}});
  if (!ll) return;
  switch (T.stages) {
    case 1: detail::add_divergences<Real, 1>(ctx, *ll, k, T.b, h); break;
    case 2: detail::add_divergences<Real, 2>(ctx, *ll, k, T.b, h); break;
    default: detail::add_divergences<Real, 4>(ctx, *ll, k, T.b, h); break;
  }
}

// Steps k0 .. k1 - 1 of the grid with `method`, on z (and *ll); after_step(k)
// after each. dpmpp2m's previous denoiser lives here, so one call must cover
// all of its steps.
template <class Real, class AfterStep>
Report run_steps(const Context& ctx, const fields::Field<Real>& field, ParticleSet<Real>& z,
                 const std::vector<double>& grid, std::size_t k0, std::size_t k1, Method method,
                 ParticleSet<double>* ll, const AfterStep& after_step) {
  const bool exponential = method == Method::ddim || method == Method::dpmpp2m;
  ParticleSet<Real> zs(ctx, exponential || tableau(method).stages == 1 ? 0 : z.n(), z.d());  // stage points
  ParticleSet<Real> D_prev;  // dpmpp2m: the previous step's denoiser
  double h_prev = 0;         // and its step in lambda = log(a / b)
  Report r;
  for (std::size_t k = k0; k < k1; ++k) {
    const double t = grid[k], h = grid[k + 1] - grid[k];
    if (!exponential) {
      rk_step(ctx, field, tableau(method), t, h, z, zs, ll, r.nfe);
    } else {
      // z' = a(t') D + (b(t') / b(t)) (z - a(t) D), D the denoiser at t (ddim),
      // or for dpmpp2m D + (D - D_prev) / (2 r), r = h_prev / h with h the step
      // in lambda = log(a / b) (first order when there is no finite h_prev).
      const auto p = field.path()->at(t), q = field.path()->at(t + h);
      FLOWSAMPLER_EXPECTS(p.b > 0, to_string(method) << ": b(t) = 0 at t = " << t << "; the step divides by b(t)");
      fields::FieldRequest req;
      req.denoiser = true;
      ++r.nfe;
      auto D = field.evaluate(ctx, t, z, req).denoiser;
      const double lam_h = std::log(std::fabs(q.a) / q.b) - std::log(std::fabs(p.a) / p.b);
      const bool second_order = method == Method::dpmpp2m && D_prev.n() == z.n() && std::isfinite(h_prev) &&
                                std::isfinite(lam_h) && h_prev != 0;
      const double c = q.b / p.b, w = q.a - c * p.a;
      const double r2 = second_order ? h_prev / lam_h : 1.0;
      // c z + w (D (1 + 1 / (2 r)) - D_prev / (2 r)), in one pass.
      detail::lincomb_into(ctx, z, z, {{c - 1.0, &z},
                                       {second_order ? w * (1 + 1 / (2 * r2)) : w, &D},
                                       {second_order ? -w / (2 * r2) : 0.0, &D_prev}});
      if (method == Method::dpmpp2m) D_prev = std::move(D);
      h_prev = lam_h;
    }
    ++r.steps;
    after_step(k);
  }
  return r;
}

Report& operator+=(Report& a, const Report& b) {
  a.nfe += b.nfe;
  a.steps += b.steps;
  a.rejected += b.rejected;
  return a;
}

}  // namespace

template <class Real>
Report integrate(const Context& ctx, const fields::Field<Real>& field, ParticleSet<Real>& z,
                 const std::vector<double>& grid, Method method, const Options<Real>& options) {
  if (field.path()) validate_grid(grid, *field.path());
  else validate_grid(grid);
  FLOWSAMPLER_EXPECTS(field.dim() == 0 || z.d() == field.dim(), "integrate: particles have d = " << z.d() << ", the field d = " << field.dim());
  const bool exponential = method == Method::ddim || method == Method::dpmpp2m;
  ParticleSet<double>* ll = options.log_density;
  FLOWSAMPLER_EXPECTS(!(ll && exponential), "integrate: the log-likelihood needs a velocity method (euler, heun, "
                                            "midpoint, rk4), not " << to_string(method));
  fields::FieldRequest needs;
  needs.velocity = !exponential;
  needs.denoiser = exponential;
  needs.divergence = ll != nullptr;
  field.require(needs, to_string(method).c_str());
  const std::size_t steps = grid.size() - 1;
  const std::vector<char> notify = detail::step_notices(options, steps);
  if (ll) detail::start_log_density(ctx, field, grid.front(), z, *ll);
  auto notice = [&](std::size_t k) {
    if (notify[k]) options.on_step(static_cast<int>(k), grid[k + 1], z);
  };
  if (method == Method::dpmpp2m || !detail::blockable(ctx, field, z))
    return run_steps(ctx, field, z, grid, 0, steps, method, ll, notice);
  // Block by block from one notified step to the next (detail/row_blocks.hpp).
  Report r;
  for (std::size_t k0 = 0; k0 < steps;) {
    std::size_t k1 = k0 + 1;
    while (k1 < steps && !notify[k1 - 1]) ++k1;
    r += detail::integrate_row_blocks(ctx, z, ll, [&](const Context& serial, ParticleSet<Real>& zb, ParticleSet<double>* lb) {
      return run_steps(serial, field, zb, grid, k0, k1, method, lb, [](std::size_t) {});
    });
    notice(k1 - 1);
    k0 = k1;
  }
  return r;
}

#define FLOWSAMPLER_INSTANTIATE(Real)                                                                           \
  template Report integrate<Real>(const Context&, const fields::Field<Real>&, ParticleSet<Real>&,                 \
                                  const std::vector<double>&, Method, const Options<Real>&);
FLOWSAMPLER_INSTANTIATE(float)
FLOWSAMPLER_INSTANTIATE(double)
#undef FLOWSAMPLER_INSTANTIATE

}  // namespace flowsampler::integrate
