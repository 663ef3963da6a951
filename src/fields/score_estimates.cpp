#include "flowsampler/fields/score_estimates.hpp"

#include <cmath>
#include <vector>

#include "core/lincomb.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/fields/drifts.hpp"
#include "flowsampler/metrics/sinkhorn.hpp"
#include "flowsampler/pairwise/pairwise.hpp"

namespace flowsampler::fields {

namespace {

template <class Real>
void expect_points(const char* what, const ParticleSet<Real>& cloud, const ParticleSet<Real>& at) {
  FLOWSAMPLER_EXPECTS(cloud.n() > 0, what << ": the cloud is empty");
  FLOWSAMPLER_EXPECTS(at.n() > 0, what << ": no evaluation points");
  FLOWSAMPLER_EXPECTS(cloud.d() == at.d(), what << ": the cloud has d = " << cloud.d() << ", the points d = " << at.d());
}

}  // namespace

template <class Real>
ParticleSet<Real> kde_score(const Context& ctx, double h, const ParticleSet<Real>& cloud, const ParticleSet<Real>& at) {
  expect_points("kde score", cloud, at);
  FLOWSAMPLER_EXPECTS(std::isfinite(h) && h > 0, "kde score: the bandwidth must be > 0, got " << h);
  return detail::lincomb(ctx, pairwise::mean_shift(ctx, {pairwise::Kernel::gaussian, h}, at, cloud).mean, {}, 1 / (h * h));
}

template <class Real>
ParticleSet<Real> blob_score(const Context& ctx, double h, const ParticleSet<Real>& cloud, const ParticleSet<Real>& at) {
  expect_points("blob score", cloud, at);
  FLOWSAMPLER_EXPECTS(std::isfinite(h) && h > 0, "blob score: the bandwidth must be > 0, got " << h);
  const pairwise::KernelSpec k{pairwise::Kernel::gaussian, h};
  const auto shift = pairwise::mean_shift(ctx, k, at, cloud);
  // Weights 1 / sum_l k(x_j, x_l): at the cloud itself, exp(-lse) of the
  // shift just taken; elsewhere one more pass of the cloud against itself.
  ParticleSet<Real> cloud_lse;
  if (&at != &cloud) cloud_lse = pairwise::mean_shift(ctx, k, cloud, cloud).lse;
  const ParticleSet<Real>& lse = &at == &cloud ? shift.lse : cloud_lse;
  std::vector<Real> inv = lse.to_host();
  for (Real& v : inv) v = static_cast<Real>(std::exp(-double(v)));
  const auto w = ParticleSet<Real>::from_column_major(ctx, inv.data(), inv.size(), 1);
  const auto spread = pairwise::kernel_grad_sum(ctx, k, at, cloud, &w);
  return detail::lincomb(ctx, shift.mean, {{1.0, &spread}}, 1 / (h * h));
}

template <class Real>
ParticleSet<Real> ot_score(const Context& ctx, double eps, double tol, const ParticleSet<Real>& cloud,
                           const ParticleSet<Real>& at) {
  expect_points("ot score", cloud, at);
  FLOWSAMPLER_EXPECTS(std::isfinite(eps) && eps > 0, "ot score: eps must be > 0, got " << eps);
  metrics::SinkhornOptions so;
  so.tol = tol;
  so.debias = false;
  so.eps = 2 * eps;  // cost |x - y|^2 / 2 with eps is cost |x - y|^2 with 2 eps: the same plan
  const auto T = metrics::barycentric_projection(ctx, at, cloud, metrics::sinkhorn_self_potential(ctx, cloud, so), so.eps);
  return detail::lincomb(ctx, detail::lincomb(ctx, T, {{-1.0, &at}}), {}, 2 / eps);  // T - y first: it cancels
}

template <class Real>
double default_ot_eps(const ParticleSet<Real>& cloud) {
  const double med = median_pairwise_distance(cloud);
  return 0.05 * med * med;
}

#define FLOWSAMPLER_SCORE_ESTIMATES(Real)                                                                            \
  template ParticleSet<Real> kde_score(const Context&, double, const ParticleSet<Real>&, const ParticleSet<Real>&);  \
  template ParticleSet<Real> blob_score(const Context&, double, const ParticleSet<Real>&, const ParticleSet<Real>&); \
  template ParticleSet<Real> ot_score(const Context&, double, double, const ParticleSet<Real>&,                      \
                                      const ParticleSet<Real>&);                                                    \
  template double default_ot_eps(const ParticleSet<Real>&);
FLOWSAMPLER_SCORE_ESTIMATES(float)
FLOWSAMPLER_SCORE_ESTIMATES(double)
#undef FLOWSAMPLER_SCORE_ESTIMATES

}  // namespace flowsampler::fields
