#include "fields/drift_rules.hpp"

#include "core/launch.hpp"
#include "flowsampler/core/error.hpp"
#include "core/lincomb.hpp"
#include "fields/drifting_normalized.hpp"
#include "fields/weights.hpp"
#include "flowsampler/fields/score_estimates.hpp"
#include "flowsampler/solvers/sinkhorn.hpp"
#include "pairwise/engine.hpp"
#include "pairwise/shipped_ops.hpp"

namespace flowsampler::fields::drift_rules {

namespace {

template <class Real>
ParticleSet<Real> mean_shift(const Context& ctx, const DriftCall<Real>& c) {
  return std::move(pairwise::mean_shift(ctx, c.o.kernel, c.z, c.data, c.log_w).mean);
}

// Attraction to the data minus repulsion from the cloud. Without the self
// pairs (left out exactly by the engine), a point alone in its neighbourhood
// feels no repulsion (mean 0).
template <class Real>
ParticleSet<Real> drifting(const Context& ctx, const DriftCall<Real>& c) {
  auto attract = pairwise::mean_shift(ctx, c.o.kernel, c.z, c.data, c.log_w);
  const auto self =
      pairwise::mean_shift(ctx, c.o.kernel, c.z, c.z, static_cast<const ParticleSet<Real>*>(nullptr), !c.o.include_self);
  flowsampler::detail::lincomb_into(ctx, attract.mean, attract.mean, {{-1.0, &self.mean}});
  return std::move(attract.mean);
}

template <class Real>
ParticleSet<Real> drifting_normalized(const Context& ctx, const DriftCall<Real>& c) {
  return flowsampler::detail::drifting_normalized(ctx, c.z, c.data, c.o.temperatures, c.o.include_self);
}

// -(1/N) sum_j grad k(x, z_j) + sum_j w_j grad k(x, y_j) (w_j = 1/M unweighted).
template <class Real>
ParticleSet<Real> mmd(const Context& ctx, const DriftCall<Real>& c) {
  auto self = pairwise::kernel_grad_sum(ctx, c.o.kernel, c.z, c.z);
  ParticleSet<Real> w;
  if (c.log_w) {
    w = ParticleSet<Real>(ctx, c.log_w->n(), 1);
    flowsampler::detail::for_each(ctx, w.size(), kernels::ExpScaled<Real>{w.data(), c.log_w->data(), 1.0});
  }
  const auto other = pairwise::kernel_grad_sum(ctx, c.o.kernel, c.z, c.data, c.log_w ? &w : nullptr);
  flowsampler::detail::lincomb_into(ctx, self, self, {{c.log_w ? 1.0 : 1 / double(c.data.n()), &other}}, -1 / double(c.z.n()));
  return self;
}

template <class Real>
ParticleSet<Real> kde(const Context& ctx, const DriftCall<Real>& c) {
  return kde_score(ctx, c.o.kernel.bandwidth, c.z, c.z);
}

template <class Real>
ParticleSet<Real> blob(const Context& ctx, const DriftCall<Real>& c) {
  return blob_score(ctx, c.o.kernel.bandwidth, c.z, c.z);
}

// One pass: (1/N) sum_j k(z_j, x) (s_j + (x - z_j) / h^2) with the target's
// scores as payload.
template <class Real>
ParticleSet<Real> svgd(const Context& ctx, const DriftCall<Real>& c) {
  const double h = c.o.median_bandwidth ? median_heuristic_bandwidth(ctx, c.z) : c.o.kernel.bandwidth;
  FieldRequest sr;
  sr.score = true;
  const ParticleSet<Real> s = c.target->evaluate(ctx, paths::PathPoint{1, 0, 0, 0, 0}, c.z, sr).score;
  ParticleSet<Real> phi(ctx, c.z.n(), c.z.d());
  pairwise::detail::run<kernels::Reduction::sum>(ctx, pairwise::detail::svgd_op<Real>(h), c.z, c.z, s.data(), phi.data());
  flowsampler::detail::lincomb_into(ctx, phi, phi, {}, 1 / double(c.z.n()));
  return phi;
}

template <class Real>
double ot_eps(const Context& ctx, const DriftCall<Real>& c) {
  return c.o.ot_eps > 0 ? c.o.ot_eps : default_ot_eps(ctx, c.z);
}

// The barycentric projection onto the data minus the one onto the cloud itself.
template <class Real>
ParticleSet<Real> sinkhorn(const Context& ctx, const DriftCall<Real>& c) {
  solvers::SinkhornOptions so;
  so.tol = c.o.ot_tol;
  so.debias = false;
  so.eps = ot_eps(ctx, c);
  auto to_data = solvers::barycentric_projection(ctx, c.z, c.data, solvers::sinkhorn(ctx, c.z, c.data, so).g, so.eps);
  const auto to_self = solvers::barycentric_projection(ctx, c.z, c.z, solvers::sinkhorn_self_potential(ctx, c.z, so), so.eps);
  flowsampler::detail::lincomb_into(ctx, to_data, to_data, {{-1.0, &to_self}});
  return to_data;
}

template <class Real>
ParticleSet<Real> ot_self_score(const Context& ctx, const DriftCall<Real>& c) {
  return ot_score(ctx, ot_eps(ctx, c), c.o.ot_tol, c.z, c.z);
}

using K = DriftNeeds::Kernels;

// In the order of enum Drift.
template <class Real>
const DriftRule<Real> rules[drift_names.size()] = {
    {{true, false, true, K::gaussian_or_laplace}, &mean_shift<Real>},   // mean_shift
    {{true, false, true, K::gaussian_or_laplace}, &drifting<Real>},     // drifting
    {{true, false, false, K::any}, &drifting_normalized<Real>},         // drifting_normalized
    {{true, false, true, K::any}, &mmd<Real>},                          // mmd
    {{false, false, true, K::gaussian}, &kde<Real>},                    // kde_score
    {{false, false, true, K::gaussian}, &blob<Real>},                   // blob
    {{false, true, true, K::gaussian}, &svgd<Real>},                    // svgd
    {{true, false, false, K::any}, &sinkhorn<Real>},                    // sinkhorn
    {{false, false, true, K::any}, &ot_self_score<Real>},               // ot_score
};
constexpr bool names_in_enum_order() {
  for (std::size_t i = 0; i < drift_names.size(); ++i)
    if (static_cast<std::size_t>(drift_names[i].value) != i) return false;
  return true;
}
static_assert(names_in_enum_order(), "the rules follow the enum's order (one row per drift_names entry)");

}  // namespace

template <class Real>
const DriftRule<Real>& drift_rule(Drift kind) {
  const DriftRule<Real>& r = rules<Real>[static_cast<int>(kind)];
  FLOWSAMPLER_EXPECTS(r.velocity != nullptr, "drift field " << to_string(kind) << ": no rule (internal)");
  return r;
}

template const DriftRule<float>& drift_rule<float>(Drift);
template const DriftRule<double>& drift_rule<double>(Drift);

}  // namespace flowsampler::fields::drift_rules
