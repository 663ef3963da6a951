#include "flowsampler/jko/score.hpp"

#include <cmath>
#include <vector>

#include "core/lincomb.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/fields/drifts.hpp"
#include "flowsampler/metrics/moments.hpp"
#include "flowsampler/metrics/sinkhorn.hpp"
#include "flowsampler/pairwise/pairwise.hpp"

namespace flowsampler::jko {

ScoreEstimator parse_score_estimator(const std::string& name, const std::string& what) {
  if (name == "kde") return ScoreEstimator::kde;
  if (name == "blob") return ScoreEstimator::blob;
  if (name == "ot") return ScoreEstimator::ot;
  FLOWSAMPLER_EXPECTS(false, what << ": expected kde, blob or ot, got '" << name << "'");
}

std::string to_string(ScoreEstimator e) {
  switch (e) {
    case ScoreEstimator::kde: return "kde";
    case ScoreEstimator::blob: return "blob";
    case ScoreEstimator::ot: return "ot";
  }
  return "?";
}

double silverman_bandwidth(std::size_t n, std::size_t d, double variance) {
  FLOWSAMPLER_EXPECTS(n >= 1 && d >= 1, "silverman_bandwidth: needs n, d >= 1");
  FLOWSAMPLER_EXPECTS(std::isfinite(variance) && variance > 0,
                      "silverman_bandwidth: the variance must be > 0, got " << variance << " (collapsed cloud?)");
  const double dd = double(d);
  return std::sqrt(variance) * std::pow(4 / ((dd + 2) * double(n)), 1 / (dd + 4));
}

template <class Real>
ScoreParams resolve_score(const Context& ctx, const ScoreOptions& o, const ParticleSet<Real>& cloud) {
  FLOWSAMPLER_EXPECTS(cloud.n() >= 2, "score estimate: the cloud needs at least 2 particles, got " << cloud.n());
  FLOWSAMPLER_EXPECTS(std::isfinite(o.bandwidth) && o.bandwidth >= 0,
                      "score estimate: bandwidth must be >= 0 (0: Silverman's rule), got " << o.bandwidth);
  FLOWSAMPLER_EXPECTS(std::isfinite(o.ot_eps) && o.ot_eps >= 0, "score estimate: ot_eps must be >= 0 (0: automatic), got " << o.ot_eps);
  FLOWSAMPLER_EXPECTS(std::isfinite(o.ot_tol) && o.ot_tol > 0, "score estimate: ot_tol must be > 0, got " << o.ot_tol);
  ScoreParams p;
  p.estimator = o.estimator;
  p.ot_tol = o.ot_tol;
  if (o.estimator == ScoreEstimator::ot) {
    if (o.ot_eps > 0) {
      p.ot_eps = o.ot_eps;
    } else {
      const double med = fields::median_pairwise_distance(cloud);
      p.ot_eps = 0.05 * med * med;
    }
  } else if (o.bandwidth > 0) {
    p.bandwidth = o.bandwidth;
  } else {
    const std::vector<double> cov = metrics::covariance(ctx, cloud);
    const std::size_t d = cloud.d();
    double var = 0;
    for (std::size_t k = 0; k < d; ++k) var += cov[k * d + k] / double(d);
    p.bandwidth = silverman_bandwidth(cloud.n(), d, var);
  }
  return p;
}

template <class Real>
ParticleSet<Real> score_estimate(const Context& ctx, const ScoreParams& p, const ParticleSet<Real>& cloud,
                                 const ParticleSet<Real>& at) {
  FLOWSAMPLER_EXPECTS(cloud.n() > 0, "score estimate: the cloud is empty");
  FLOWSAMPLER_EXPECTS(at.n() > 0, "score estimate: no evaluation points");
  FLOWSAMPLER_EXPECTS(cloud.d() == at.d(), "score estimate: the cloud has d = " << cloud.d() << ", the points d = " << at.d());
  if (p.estimator == ScoreEstimator::ot) {
    FLOWSAMPLER_EXPECTS(std::isfinite(p.ot_eps) && p.ot_eps > 0, "score estimate (ot): ot_eps must be > 0, got " << p.ot_eps);
    metrics::SinkhornOptions so;
    so.tol = p.ot_tol;
    so.debias = false;
    so.eps = 2 * p.ot_eps;  // cost |x - y|^2 / 2 with eps is cost |x - y|^2 with 2 eps
    const std::vector<double> pot = metrics::sinkhorn_self_potential(ctx, cloud, so);
    const auto T = metrics::barycentric_projection(ctx, at, cloud, pot, so.eps);
    return detail::lincomb(ctx, detail::lincomb(ctx, T, {{-1.0, &at}}), {}, 2 / p.ot_eps);
  }
  const double b = p.bandwidth;
  FLOWSAMPLER_EXPECTS(std::isfinite(b) && b > 0, "score estimate (" << to_string(p.estimator) << "): the bandwidth must be > 0, got " << b);
  const pairwise::KernelSpec k{pairwise::Kernel::gaussian, b};
  ParticleSet<Real> kde = detail::lincomb(ctx, pairwise::mean_shift(ctx, k, at, cloud).mean, {}, 1 / (b * b));
  if (p.estimator == ScoreEstimator::kde) return kde;
  // blob: the second term, sum_j grad k(y, x_j) w_j with w_j = 1 / sum_l k(x_j, x_l).
  std::vector<Real> w = pairwise::kernel_sum(ctx, k, cloud, cloud).to_host();
  for (Real& v : w) v = static_cast<Real>(1 / double(v));
  const ParticleSet<Real> wset = ParticleSet<Real>::from_column_major(ctx, w.data(), w.size(), 1);
  const ParticleSet<Real> second = pairwise::kernel_grad_sum(ctx, k, at, cloud, &wset);
  return detail::lincomb(ctx, kde, {{1.0, &second}});
}

template ScoreParams resolve_score<float>(const Context&, const ScoreOptions&, const ParticleSet<float>&);
template ScoreParams resolve_score<double>(const Context&, const ScoreOptions&, const ParticleSet<double>&);
template ParticleSet<float> score_estimate<float>(const Context&, const ScoreParams&, const ParticleSet<float>&,
                                                  const ParticleSet<float>&);
template ParticleSet<double> score_estimate<double>(const Context&, const ScoreParams&, const ParticleSet<double>&,
                                                    const ParticleSet<double>&);

}  // namespace flowsampler::jko
