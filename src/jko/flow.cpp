#include "flowsampler/jko/flow.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <cmath>
#include <type_traits>

#include "core/launch.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/core/random.hpp"
#include "flowsampler/fields/gmm_field.hpp"
#include "flowsampler/jko/bures_step.hpp"
#include "flowsampler/metrics/gaussian_w2.hpp"
#include "flowsampler/metrics/knn.hpp"
#include "flowsampler/metrics/map_distance.hpp"
#include "flowsampler/metrics/mmd.hpp"
#include "flowsampler/metrics/moments.hpp"
#include "jko/cloud_ops.hpp"
#include "random/fill.hpp"

namespace flowsampler::jko {

StepSchedule StepSchedule::constant(double h) { return geometric(h, 1.0); }

StepSchedule StepSchedule::geometric(double h0, double ratio) {
  FLOWSAMPLER_EXPECTS(std::isfinite(h0) && h0 > 0, "jko schedule: the step h must be > 0, got " << h0);
  FLOWSAMPLER_EXPECTS(std::isfinite(ratio) && ratio > 0, "jko schedule: the ratio must be > 0, got " << ratio);
  StepSchedule s;
  s.h0_ = h0;
  s.ratio_ = ratio;
  return s;
}

StepSchedule StepSchedule::list(std::vector<double> steps) {
  FLOWSAMPLER_EXPECTS(!steps.empty(), "jko schedule: the list of steps is empty");
  for (std::size_t k = 0; k < steps.size(); ++k)
    FLOWSAMPLER_EXPECTS(std::isfinite(steps[k]) && steps[k] > 0, "jko schedule: step " << k << " is " << steps[k] << "; expected > 0");
  StepSchedule s;
  s.list_ = std::move(steps);
  return s;
}

double StepSchedule::at(std::size_t k) const {
  if (!list_.empty()) {
    FLOWSAMPLER_EXPECTS(k < list_.size(), "jko schedule: step " << k << " is beyond the list of " << list_.size());
    return list_[k];
  }
  return h0_ * std::pow(ratio_, double(k));
}

using ops::add_scaled;
using ops::strided;

template <class Real>
void diagnose(const Context& ctx, const Objective<Real>& objective, const ParticleSet<Real>& x,
              const ParticleSet<Real>& pi_draws, const FlowOptions& o, StepRecord& rec) {
  rec.mean = metrics::mean(ctx, x);
  rec.cov = x.n() >= 2 ? metrics::covariance(ctx, x, false) : std::vector<double>(x.d() * x.d(), 0.0);
  const targets::GaussianMixture* pi = objective.target();
  if (!pi) return;
  const std::vector<double> pm = targets::mixture_mean(*pi), pc = targets::mixture_covariance(*pi);
  rec.w2 = std::sqrt(std::max(0.0, metrics::bures_w2_squared(rec.mean, rec.cov, pm, pc)));
  if (pi->size() == 1) {
    try {
      rec.kl_gaussian = gaussian_kl(Gaussian{rec.mean, rec.cov}, Gaussian{pm, pc});
    } catch (const Error&) {  // a degenerate cloud has no Gaussian fit with a density
    }
  }
  if (o.diagnostic_points == 0 || x.n() < 8) return;
  const ParticleSet<Real> sub = strided(ctx, x, o.diagnostic_points);
  try {
    const double H = metrics::knn_entropy(ctx, sub, 5);
    fields::FieldRequest r;
    r.log_density = true;
    const ParticleSet<Real> lp = fields::GmmField(*pi).evaluate(ctx, paths::PathPoint{1, 0, 0, 0, 0}, sub, r).log_density;
    const double cross = -metrics::mean(ctx, lp)[0];
    rec.kl = cross - H;
  } catch (const Error&) {  // duplicate points: no kNN entropy
  }
  if (pi_draws.n() > 0)
    rec.mmd2 = metrics::mmd_squared(ctx, pairwise::KernelSpec{pairwise::Kernel::gaussian, o.mmd_bandwidth}, sub, pi_draws);
}

template <class Real>
FlowResult<Real> run_jko(const Context& ctx, const Objective<Real>& objective, const ParticleSet<Real>& x0,
                         const FlowOptions& o) {
  FLOWSAMPLER_EXPECTS(x0.n() > 0, "jko: the cloud is empty");
  FLOWSAMPLER_EXPECTS(objective.dim() == 0 || x0.d() == objective.dim(),
                      "jko: the cloud has d = " << x0.d() << ", the objective (target) d = " << objective.dim());
  FLOWSAMPLER_EXPECTS(o.max_steps > 0, "jko: max_steps must be > 0");
  FLOWSAMPLER_EXPECTS(o.w2_tol >= 0 && o.kl_tol >= 0, "jko: the stopping tolerances must be >= 0");
  FLOWSAMPLER_EXPECTS(o.mmd_bandwidth > 0, "jko: mmd_bandwidth must be > 0, got " << o.mmd_bandwidth);
  const std::size_t steps = o.schedule.size() ? std::min(o.max_steps, o.schedule.size()) : o.max_steps;
  for (std::size_t k = 0; k < steps; ++k) (void)o.schedule.at(k);  // reject bad schedules before the work
  FlowResult<Real> out;
  ParticleSet<Real> draws;
  if (objective.target() && o.diagnostic_points > 0) {
    // Derived from the seed, so that data drawn with the same seed are not
    // these normals. Drawn on the CPU (the same numbers on every backend:
    // DESIGN.md section 2) and moved once to ctx: a table of
    // diagnostic_points rows, not the cloud.
    Context c = Context::create(Backend::cpu, o.seed ^ 0x70692d6472617773ull);
    draws = objective.target()->template sample<Real>(c, o.diagnostic_points).copy(ctx);
  }
  StepRecord first;
  diagnose(ctx, objective, x0, draws, o, first);
  out.records.push_back(first);
  ParticleSet<Real> x = x0.copy(ctx);
  if (o.keep_clouds) out.clouds.push_back(x.copy(ctx));
  auto reached = [&](const StepRecord& r) {
    return (o.w2_tol > 0 && r.w2 < o.w2_tol) || (o.kl_tol > 0 && r.kl < o.kl_tol);
  };
  const double fd = std::is_same<Real, float>::value ? 3e-3 : 1e-5;
  for (std::size_t k = 0; k < steps && !reached(out.records.back()); ++k) {
    const auto t0 = std::chrono::steady_clock::now();
    const double h = o.schedule.at(k);
    StepResult<Real> s = jko_step(ctx, objective, x, h, o.step);
    StepRecord rec;
    rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rec.k = int(k);
    rec.h = h;
    rec.solver_eps = s.solver_eps;
    rec.tol = s.tol;
    rec.inner = s.inner;
    rec.converged = s.converged;
    rec.score = s.score;
    x = std::move(s.x);
    diagnose(ctx, objective, x, draws, o, rec);
    const StepRecord& prev = out.records.back();
    if (objective.target() && objective.target()->size() == 1) {
      try {
        const targets::GaussianMixture& pi = *objective.target();
        rec.eps_gaussian = bures_first_order_residual(Gaussian{prev.mean, prev.cov}, Gaussian{rec.mean, rec.cov},
                                                      Gaussian{pi.mean(0), pi.covariance(0)}, h);
      } catch (const Error&) {  // a degenerate cloud has no Gaussian fit with a density
      }
    }
    if (o.lipschitz && o.diagnostic_points > 0) {
      const ParticleSet<Real> sub = strided(ctx, x, o.diagnostic_points);
      std::function<ParticleSet<Real>(const ParticleSet<Real>&)> reverse = [&](const ParticleSet<Real>& y) {
        return add_scaled(ctx, y, h, objective.gradient(ctx, x, y, rec.score));
      };
      rec.lipschitz_reverse = metrics::lipschitz_estimate<Real>(ctx, reverse, sub, fd, o.seed + k).max;
      // T = S^-1: at a = S(y) along S(y + fd u) - S(y), |T(a) - T(b)| / |a - b| = fd / |S(y + fd u) - S(y)|.
      // u: the normals of a fresh context seeded with seed + 1000003 + k (its first draw), made on ctx.
      ParticleSet<double> u(ctx, sub.n(), sub.d());
      detail::for_each(ctx, u.size(), kernels::RandomFill<double>{u.data(), u.n(), o.seed + 1000003 + k, 0, kernels::Distribution::normal});
      ParticleSet<Real> moved(ctx, sub.n(), sub.d());
      detail::for_each(ctx, sub.n(), kernels::NudgeRows<Real>{moved.data(), sub.data(), u.data(), sub.n(), sub.d(), fd});
      const ParticleSet<Real> rm = reverse(moved), rs = reverse(sub);
      const double lf = detail::reduce(ctx, sub.n(), 1,
                                       kernels::InverseLipschitz<Real>{moved.data(), sub.data(), rm.data(), rs.data(), sub.n(), sub.d()})[0];
      rec.lipschitz_forward = std::max(0.0, lf);
    }
    out.records.push_back(rec);
    if (o.on_step) o.on_step(out.records.back());
    out.steps.push_back(h);
    out.score.push_back(rec.score);
    if (o.keep_clouds) out.clouds.push_back(x.copy(ctx));
  }
  out.stopped_by_tolerance = reached(out.records.back());
  out.x = std::move(x);
  return out;
}

template FlowResult<float> run_jko<float>(const Context&, const Objective<float>&, const ParticleSet<float>&,
                                          const FlowOptions&);
template FlowResult<double> run_jko<double>(const Context&, const Objective<double>&, const ParticleSet<double>&,
                                            const FlowOptions&);
template void diagnose<float>(const Context&, const Objective<float>&, const ParticleSet<float>&,
                              const ParticleSet<float>&, const FlowOptions&, StepRecord&);
template void diagnose<double>(const Context&, const Objective<double>&, const ParticleSet<double>&,
                               const ParticleSet<double>&, const FlowOptions&, StepRecord&);

}  // namespace flowsampler::jko
