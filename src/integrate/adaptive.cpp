// Adaptive Dormand-Prince 5(4) over the whole cloud: one step size for all
// particles, chosen from a cloud-wide error norm.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <utility>

#include "flowsampler/core/error.hpp"
#include "flowsampler/integrate/integrate.hpp"
#include "integrate/cloud_ops.hpp"

namespace flowsampler::integrate {

namespace {

// Dormand & Prince (1980) coefficients; row 7 is the 5th-order solution
// (first same as last), E = b - b_hat the embedded error weights.
constexpr double C[7] = {0, 1 / 5., 3 / 10., 4 / 5., 8 / 9., 1, 1};
constexpr double A[7][6] = {{0},
                            {1 / 5.},
                            {3 / 40., 9 / 40.},
                            {44 / 45., -56 / 15., 32 / 9.},
                            {19372 / 6561., -25360 / 2187., 64448 / 6561., -212 / 729.},
                            {9017 / 3168., -355 / 33., 46732 / 5247., 49 / 176., -5103 / 18656.},
                            {35 / 384., 0, 500 / 1113., 125 / 192., -2187 / 6784., 11 / 84.}};
constexpr double E[7] = {71 / 57600., 0, -71 / 16695., 71 / 1920., -17253 / 339200., 22 / 525., -1 / 40.};

// ||e / (atol + rtol max(|z0|, |z1|))|| over all coordinates, e = h sum_j E_j k_j:
// one reduction on the device, one scalar read (and, for a sharded cloud,
// one exchange between the ranks).
template <class Real>
double error_norm(const Context& ctx, const ParticleSet<Real>& z0, const ParticleSet<Real>& z1,
                  const detail::Stage<Real> (&k)[7], double h, const AdaptiveOptions& o, const Communicator* comm) {
  auto run = [&](auto max_c) {
    kernels::DopriError<Real, decltype(max_c)::value> f{z0.data(), z1.data(), {}, {}, h, o.atol, o.rtol};
    for (int j = 0; j < 7; ++j) f.k[j] = k[j].v.data(), f.E[j] = E[j];
    return flowsampler::detail::reduce(ctx, z0.size(), 1, f)[0];
  };
  if (o.norm == ErrorNorm::max) {
    const double mine = run(std::true_type{});
    return comm ? comm->max({mine})[0] : mine;
  }
  const auto s = detail::cloud_sums(comm, {run(std::false_type{}), static_cast<double>(z0.size())});
  return std::sqrt(s[0] / s[1]);
}

// Root mean square of (x - y) / (atol + rtol |z|) over all coordinates (y may be null).
template <class Real>
double rms_scaled(const Context& ctx, const ParticleSet<Real>& x, const ParticleSet<Real>* y, const ParticleSet<Real>& z,
                  const AdaptiveOptions& o, const Communicator* comm) {
  const kernels::ScaledSquares<Real> f{x.data(), y ? y->data() : nullptr, z.data(), o.atol, o.rtol};
  const auto s = detail::cloud_sums(comm, {flowsampler::detail::reduce(ctx, x.size(), 1, f)[0], static_cast<double>(x.size())});
  return std::sqrt(s[0] / s[1]);
}

// Tolerances below the precision's resolution (atol + rtol |z| underflowing)
// make the error norms infinite and the starting step NaN: say so.
void expect_usable_step(double h, const AdaptiveOptions& o) {
  FLOWSAMPLER_EXPECTS(std::isfinite(h) && h > 0, "dopri5: no usable starting step (h = " << h << "): rtol = " << o.rtol
                                                      << " and atol = " << o.atol << " are below what the precision in use "
                                                      << "resolves; loosen them (e.g. 1e-6 in double, 1e-4 in float)");
}

// Hairer's starting step: from the sizes of z, v and the change of v over a
// trial step (one field evaluation). `signed_hmax` carries the direction.
template <class Real>
double starting_step(const Context& ctx, const fields::Field<Real>& field, const ParticleSet<Real>& z, const ParticleSet<Real>& v,
                     double t0, double signed_hmax, const AdaptiveOptions& o, const Communicator* comm, long long& nfe) {
  const double dir = signed_hmax > 0 ? 1.0 : -1.0, hmax = std::fabs(signed_hmax);
  const double d0 = rms_scaled<Real>(ctx, z, nullptr, z, o, comm), d1 = rms_scaled<Real>(ctx, v, nullptr, z, o, comm);
  double h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * d0 / d1;
  h0 = std::min(h0, hmax);
  expect_usable_step(h0, o);
  const ParticleSet<Real> z1 = detail::lincomb(ctx, z, {{dir * h0, &v}});
  const detail::Stage<Real> f1 = detail::eval_stage(ctx, field, t0 + dir * h0, z1, false, nfe);
  const double d2 = rms_scaled(ctx, f1.v, &v, z, o, comm) / h0;
  const double h1 = std::max(d1, d2) <= 1e-15 ? std::max(1e-6, h0 * 1e-3) : std::pow(0.01 / std::max(d1, d2), 0.2);
  return std::min({100 * h0, h1, hmax});
}

}  // namespace

template <class Real>
Report integrate_adaptive(const Context& ctx, const fields::Field<Real>& field, ParticleSet<Real>& z, double t0,
                          double t1, const AdaptiveOptions& o, const Options<Real>& options) {
  FLOWSAMPLER_EXPECTS(std::isfinite(t0) && std::isfinite(t1) && t0 != t1,
                      "dopri5: need finite t0 != t1, got " << t0 << ", " << t1);
  if (field.path()) validate_grid({t0, t1}, *field.path());
  FLOWSAMPLER_EXPECTS(o.rtol >= 0 && o.atol >= 0 && o.rtol + o.atol > 0 && std::isfinite(o.rtol) && std::isfinite(o.atol),
                      "dopri5: rtol and atol must be finite, >= 0 and not both 0, got " << o.rtol << ", " << o.atol);
  FLOWSAMPLER_EXPECTS(o.max_steps >= 1, "dopri5: max_steps must be >= 1, got " << o.max_steps);
  FLOWSAMPLER_EXPECTS(o.first_step >= 0 && o.max_step >= 0, "dopri5: first_step and max_step must be >= 0");
  FLOWSAMPLER_EXPECTS(field.dim() == 0 || z.d() == field.dim(), "dopri5: particles have d = " << z.d() << ", the field d = " << field.dim());
  ParticleSet<double>* ll = options.log_density;
  fields::FieldRequest needs;
  needs.velocity = true;
  needs.divergence = ll != nullptr;
  field.require(needs, "dopri5");
  if (ll) detail::start_log_density(ctx, field, t0, z, *ll);
  const bool track = ll != nullptr;
  const double dir = t1 > t0 ? 1.0 : -1.0, span = std::fabs(t1 - t0);
  const double hmax = o.max_step > 0 ? std::min(o.max_step, span) : span;
  Report r;
  detail::Stage<Real> k[7];
  ParticleSet<Real> zs(ctx, z.n(), z.d());  // stage points, and the candidate solution
  zs.set_first_row(z.first_row());  // it becomes z (swap) on acceptance
  k[0] = detail::eval_stage(ctx, field, t0, z, track, r.nfe);
  double h = std::min(o.first_step > 0 ? o.first_step : starting_step(ctx, field, z, k[0].v, t0, dir * hmax, o, options.comm, r.nfe), hmax);
  expect_usable_step(h, o);
  // PI control (Hairer & Wanner, Solving ODEs I, II.4; DOPRI5's constants).
  const double beta = 0.04, expo = 0.2 - 0.75 * beta, safety = 0.9;
  double err_old = 1e-4, t = t0;
  bool last_rejected = false;
  while (dir * (t1 - t) > 0) {
    FLOWSAMPLER_EXPECTS(r.steps + r.rejected < o.max_steps,
                        "dopri5: max_steps = " << o.max_steps << " reached at t = " << t << " (target " << t1
                                               << "); loosen rtol/atol or raise max_steps");
    FLOWSAMPLER_EXPECTS(h > 1e-14 * std::max(1.0, std::fabs(t)),
                        "dopri5: the step size underflowed at t = " << t << " (h = " << h
                                                                    << "); the field is singular or not finite there");
    const bool final_step = h >= std::fabs(t1 - t);
    if (final_step) h = std::fabs(t1 - t);
    const double hs = dir * h;
    for (int s = 1; s < 7; ++s) {  // stage 7 is at the candidate solution itself (FSAL)
      const auto& a = A[s];  // zero beyond column s - 1, so later (empty) stages are skipped
      detail::lincomb_into(ctx, zs, z,
                           {{hs * a[0], &k[0].v}, {hs * a[1], &k[1].v}, {hs * a[2], &k[2].v}, {hs * a[3], &k[3].v},
                            {hs * a[4], &k[4].v}, {hs * a[5], &k[5].v}});
      k[s] = detail::eval_stage(ctx, field, C[s] == 1 && final_step ? t1 : t + C[s] * hs, zs, track, r.nfe);
    }
    {
      const double err = error_norm(ctx, z, zs, k, h, o, options.comm);
      const double fac11 = std::pow(err, expo);
      if (std::isfinite(err) && err <= 1.0) {
        if (ll) detail::add_divergences<Real, 6>(ctx, *ll, k, A[6], hs);
        std::swap(z, zs);  // the accepted solution; the old buffer holds the next stage points
        t = final_step ? t1 : t + hs;
        k[0] = std::move(k[6]);
        ++r.steps;
        if (options.on_step) options.on_step(r.steps - 1, t, z);
        double fac = fac11 / std::pow(err_old, beta);
        fac = std::clamp(fac / safety, 0.1, 5.0);  // grow at most 10x, shrink at most 5x
        double h_new = h / fac;
        if (last_rejected) h_new = std::min(h_new, h);
        err_old = std::max(err, 1e-4);
        h = std::min(h_new, hmax);
        last_rejected = false;
      } else {
        ++r.rejected;
        h = std::isfinite(err) ? h / std::min(5.0, fac11 / safety) : h / 10;
        last_rejected = true;
      }
    }
  }
  return r;
}

#define FLOWSAMPLER_INSTANTIATE(Real)                                                                            \
  template Report integrate_adaptive<Real>(const Context&, const fields::Field<Real>&, ParticleSet<Real>&, double, \
                                           double, const AdaptiveOptions&, const Options<Real>&);
FLOWSAMPLER_INSTANTIATE(float)
FLOWSAMPLER_INSTANTIATE(double)
#undef FLOWSAMPLER_INSTANTIATE

}  // namespace flowsampler::integrate
