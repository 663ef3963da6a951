#include "flowsampler/jko/score.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <vector>

#include "cloud/apply_matrix.hpp"
#include "core/launch.hpp"

#include "flowsampler/core/error.hpp"
#include "flowsampler/fields/score_estimates.hpp"
#include "flowsampler/metrics/moments.hpp"

namespace flowsampler::jko {

ScoreEstimator parse_score_estimator(const std::string& name, const std::string& what) {
  return parse_name(score_estimator_names, name, what);
}

std::string to_string(ScoreEstimator e) { return name_of(score_estimator_names, e); }

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
    p.ot_eps = o.ot_eps > 0 ? o.ot_eps : fields::default_ot_eps(ctx, cloud);
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

namespace {

// (I + b^2 S^-1) s, S the cloud's covariance (normalized by N), applied to
// every row of s on the context's backend.
template <class Real>
ParticleSet<Real> remove_smoothing_bias(const Context& ctx, double b, const ParticleSet<Real>& cloud, const ParticleSet<Real>& s) {
  const std::size_t d = cloud.d();
  const std::vector<double> cov = metrics::covariance(ctx, cloud, false);
  const Eigen::MatrixXd S = Eigen::Map<const Eigen::MatrixXd>(cov.data(), Eigen::Index(d), Eigen::Index(d));
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(0.5 * (S + S.transpose()));
  FLOWSAMPLER_EXPECTS(es.eigenvalues().minCoeff() > 1e-12 * std::max(1.0, es.eigenvalues().maxCoeff()),
                      "score estimate: kde-corrected needs a cloud with an invertible covariance (smallest eigenvalue "
                          << es.eigenvalues().minCoeff() << ")");
  const Eigen::MatrixXd M = Eigen::MatrixXd::Identity(Eigen::Index(d), Eigen::Index(d)) +
                            b * b * es.eigenvectors() * es.eigenvalues().cwiseInverse().asDiagonal() * es.eigenvectors().transpose();
  Buffer<double> Mb(ctx, d * d);
  Mb.copy_from_host(M.data());
  ParticleSet<Real> out(ctx, s.n(), d);
  detail::for_each(ctx, out.size(), kernels::ApplyMatrix<Real>{out.data(), s.data(), Mb.data(), s.n(), int(d)});
  return out;
}

}  // namespace

template <class Real>
ParticleSet<Real> score_estimate(const Context& ctx, const ScoreParams& p, const ParticleSet<Real>& cloud,
                                 const ParticleSet<Real>& at, const Communicator* comm) {
  const bool kde = p.estimator == ScoreEstimator::kde || p.estimator == ScoreEstimator::kde_corrected;
  if (kde && at.n() == 0 && comm && comm->size() > 1) return ParticleSet<Real>(ctx, 0, at.d());  // a rank without rows
  switch (p.estimator) {
    case ScoreEstimator::kde: return fields::kde_score(ctx, p.bandwidth, cloud, at);
    case ScoreEstimator::kde_corrected:
      return remove_smoothing_bias(ctx, p.bandwidth, cloud, fields::kde_score(ctx, p.bandwidth, cloud, at));
    case ScoreEstimator::blob: return fields::blob_score(ctx, p.bandwidth, cloud, at, comm);
    case ScoreEstimator::ot: return fields::ot_score(ctx, p.ot_eps, p.ot_tol, cloud, at, comm);
  }
  FLOWSAMPLER_EXPECTS(false, "score estimate: unknown estimator");
}

template ScoreParams resolve_score<float>(const Context&, const ScoreOptions&, const ParticleSet<float>&);
template ScoreParams resolve_score<double>(const Context&, const ScoreOptions&, const ParticleSet<double>&);
template ParticleSet<float> score_estimate<float>(const Context&, const ScoreParams&, const ParticleSet<float>&,
                                                  const ParticleSet<float>&, const Communicator*);
template ParticleSet<double> score_estimate<double>(const Context&, const ScoreParams&, const ParticleSet<double>&,
                                                    const ParticleSet<double>&, const Communicator*);

}  // namespace flowsampler::jko
