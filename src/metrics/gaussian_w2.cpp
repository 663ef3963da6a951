#include "flowsampler/metrics/gaussian_w2.hpp"

#include <Eigen/Dense>
#include <cmath>

#include "core/symmetric_matrix.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/metrics/moments.hpp"

namespace flowsampler::metrics {

namespace {

Eigen::MatrixXd symmetric_psd(const std::vector<double>& S, std::size_t d, const char* name) {
  FLOWSAMPLER_EXPECTS(S.size() == d * d, "bures: " << name << " needs " << d * d << " entries (d = " << d << "), got "
                                                   << S.size());
  Eigen::MatrixXd M = Eigen::Map<const Eigen::MatrixXd>(S.data(), Eigen::Index(d), Eigen::Index(d));
  FLOWSAMPLER_EXPECTS(M.allFinite(), "bures: " << name << " has non-finite entries");
  const double scale = std::max(1.0, M.cwiseAbs().maxCoeff());
  FLOWSAMPLER_EXPECTS((M - M.transpose()).cwiseAbs().maxCoeff() <= 1e-9 * scale, "bures: " << name << " is not symmetric");
  return detail::symmetric_part(M);
}

// Symmetric PSD square root by eigendecomposition (eigenvalues clamped at 0:
// rounding leaves tiny negative ones on singular matrices).
Eigen::MatrixXd psd_sqrt(const Eigen::MatrixXd& M, const char* name) {
  const detail::SymmetricEigen e(M);
  const double top = std::max(e.eigenvalues().cwiseAbs().maxCoeff(), 1e-300);
  FLOWSAMPLER_EXPECTS(e.eigenvalues().minCoeff() >= -1e-10 * top,
                      "bures: " << name << " is not positive semi-definite (eigenvalue " << e.eigenvalues().minCoeff() << ")");
  return detail::spectral(e, [](double v) { return std::sqrt(std::max(v, 0.0)); });
}

}  // namespace

double bures_w2_squared(const std::vector<double>& m1, const std::vector<double>& S1, const std::vector<double>& m2,
                        const std::vector<double>& S2) {
  const std::size_t d = m1.size();
  FLOWSAMPLER_EXPECTS(d > 0 && m2.size() == d, "bures: means of sizes " << m1.size() << " and " << m2.size()
                                                                        << "; expected equal and positive");
  const Eigen::MatrixXd A = symmetric_psd(S1, d, "S1"), B = symmetric_psd(S2, d, "S2");
  const Eigen::MatrixXd rA = psd_sqrt(A, "S1");
  const Eigen::MatrixXd cross = psd_sqrt(rA * B * rA, "S1^1/2 S2 S1^1/2");
  double mean_part = 0;
  for (std::size_t k = 0; k < d; ++k) {
    FLOWSAMPLER_EXPECTS(std::isfinite(m1[k]) && std::isfinite(m2[k]), "bures: non-finite mean entry " << k);
    mean_part += (m1[k] - m2[k]) * (m1[k] - m2[k]);
  }
  // Rounding can leave the trace a hair below 0 for equal covariances.
  return mean_part + std::max(0.0, A.trace() + B.trace() - 2 * cross.trace());
}

template <class Real>
double gelbrich_w2_squared(const Context& ctx, const ParticleSet<Real>& x, const ParticleSet<Real>& y) {
  FLOWSAMPLER_EXPECTS(x.d() == y.d(), "gelbrich: x has d = " << x.d() << ", y has d = " << y.d());
  return bures_w2_squared(mean(ctx, x), covariance(ctx, x, false), mean(ctx, y), covariance(ctx, y, false));
}

template double gelbrich_w2_squared<float>(const Context&, const ParticleSet<float>&, const ParticleSet<float>&);
template double gelbrich_w2_squared<double>(const Context&, const ParticleSet<double>&, const ParticleSet<double>&);

}  // namespace flowsampler::metrics
