#include "flowsampler/jko/bures_step.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>

#include "core/symmetric_matrix.hpp"
#include "flowsampler/core/error.hpp"

namespace flowsampler::jko {

namespace {

using Mat = Eigen::MatrixXd;
using Vec = Eigen::VectorXd;

Vec vec(const std::vector<double>& v) { return Eigen::Map<const Vec>(v.data(), Eigen::Index(v.size())); }
std::vector<double> flat(const Mat& M) { return std::vector<double>(M.data(), M.data() + M.size()); }
std::vector<double> flat(const Vec& v) { return std::vector<double>(v.data(), v.data() + v.size()); }

// Validated symmetric positive definite d x d matrix and its eigendecomposition.
detail::SymmetricEigen spd(const Gaussian& g, const char* name) {
  const std::size_t d = g.dim();
  FLOWSAMPLER_EXPECTS(d > 0, name << ": empty mean");
  FLOWSAMPLER_EXPECTS(g.cov.size() == d * d,
                      name << ": covariance needs " << d * d << " entries (d = " << d << "), got " << g.cov.size());
  for (double v : g.mean) FLOWSAMPLER_EXPECTS(std::isfinite(v), name << ": non-finite mean");
  const Mat S = Eigen::Map<const Mat>(g.cov.data(), Eigen::Index(d), Eigen::Index(d));
  FLOWSAMPLER_EXPECTS(S.allFinite(), name << ": non-finite covariance");
  const double scale = std::max(1.0, S.cwiseAbs().maxCoeff());
  FLOWSAMPLER_EXPECTS((S - S.transpose()).cwiseAbs().maxCoeff() <= 1e-9 * scale, name << ": covariance is not symmetric");
  detail::SymmetricEigen e(detail::symmetric_part(S));
  FLOWSAMPLER_EXPECTS(e.eigenvalues().minCoeff() > 1e-14 * e.eigenvalues().cwiseAbs().maxCoeff() &&
                          e.eigenvalues().minCoeff() > 0,
                      name << ": covariance is not positive definite (eigenvalue " << e.eigenvalues().minCoeff() << ")");
  return e;
}

double inv(double x) { return 1 / x; }
double isqrt(double x) { return 1 / std::sqrt(x); }
double sqrt_(double x) { return std::sqrt(x); }

}  // namespace

BuresStep bures_jko_step(const Gaussian& rho, const Gaussian& target, double h) {
  FLOWSAMPLER_EXPECTS(std::isfinite(h) && h > 0, "bures_jko_step: the step h must be > 0, got " << h);
  const auto es = spd(rho, "bures_jko_step: rho");
  const auto et = spd(target, "bures_jko_step: target");
  FLOWSAMPLER_EXPECTS(rho.dim() == target.dim(),
                      "bures_jko_step: rho has d = " << rho.dim() << ", the target d = " << target.dim());
  const Eigen::Index d = Eigen::Index(rho.dim());
  const Mat I = Mat::Identity(d, d);
  const Mat Pt = detail::spectral(et, inv);  // S*^-1
  const Mat B = I + h * Pt;
  const detail::SymmetricEigen eb(B);
  const Mat Bh = detail::spectral(eb, sqrt_), Bmh = detail::spectral(eb, isqrt);
  const Vec mp = detail::spectral(eb, inv) * (vec(rho.mean) + h * Pt * vec(target.mean));
  Mat M = h * Bh * detail::spectral(es, inv) * Bh;
  M = detail::symmetric_part(M);
  const detail::SymmetricEigen em(0.25 * I + M);
  const Mat C = 0.5 * I + detail::spectral(em, sqrt_);
  Mat A = Bmh * C * Bmh;
  A = detail::symmetric_part(A);
  const Mat S = Eigen::Map<const Mat>(rho.cov.data(), d, d);
  Mat Sp = A * S * A;
  Sp = detail::symmetric_part(Sp);
  return BuresStep{Gaussian{flat(mp), flat(Sp)}, flat(A)};
}

std::vector<Gaussian> bures_jko_sequence(const Gaussian& rho, const Gaussian& target, const std::vector<double>& steps) {
  std::vector<Gaussian> out{rho};
  out.reserve(steps.size() + 1);
  for (double h : steps) out.push_back(bures_jko_step(out.back(), target, h).next);
  return out;
}

std::vector<double> gaussian_ot_slope(const Gaussian& from, const Gaussian& to) {
  const auto ef = spd(from, "gaussian_ot_slope: from");
  (void)spd(to, "gaussian_ot_slope: to");
  FLOWSAMPLER_EXPECTS(from.dim() == to.dim(), "gaussian_ot_slope: from has d = " << from.dim() << ", to has d = " << to.dim());
  const Eigen::Index d = Eigen::Index(from.dim());
  const Mat Fh = detail::spectral(ef, sqrt_), Fmh = detail::spectral(ef, isqrt);
  const Mat St = Eigen::Map<const Mat>(to.cov.data(), d, d);
  Mat M = Fh * St * Fh;
  M = detail::symmetric_part(M);
  Mat G = Fmh * detail::spectral(detail::SymmetricEigen(M), sqrt_) * Fmh;
  return flat(Mat(detail::symmetric_part(G)));
}

double bures_first_order_residual(const Gaussian& from, const Gaussian& to, const Gaussian& target, double h) {
  FLOWSAMPLER_EXPECTS(std::isfinite(h) && h > 0, "bures_first_order_residual: the step h must be > 0, got " << h);
  const auto et = spd(to, "bures_first_order_residual: to");
  const auto es = spd(target, "bures_first_order_residual: target");
  (void)spd(from, "bures_first_order_residual: from");
  FLOWSAMPLER_EXPECTS(from.dim() == to.dim() && to.dim() == target.dim(),
                      "bures_first_order_residual: from, to and target have d = " << from.dim() << ", " << to.dim() << ", "
                                                                                  << target.dim());
  const Eigen::Index d = Eigen::Index(to.dim());
  const std::vector<double> g = gaussian_ot_slope(to, from);  // rho_{k+1} -> rho_k
  const Mat G = Eigen::Map<const Mat>(g.data(), d, d);
  const Mat I = Mat::Identity(d, d), Pt = detail::spectral(es, inv), Pn = detail::spectral(et, inv);
  const Mat M = (I - G) / h + Pt - Pn;
  const Vec c = (vec(to.mean) - vec(from.mean)) / h + Pt * (vec(to.mean) - vec(target.mean));
  const Mat S = Eigen::Map<const Mat>(to.cov.data(), d, d);
  return std::sqrt(std::max(0.0, (M * S * M.transpose()).trace() + c.squaredNorm()));
}

double gaussian_kl(const Gaussian& p, const Gaussian& q) {
  const auto ep = spd(p, "gaussian_kl: p");
  const auto eq = spd(q, "gaussian_kl: q");
  FLOWSAMPLER_EXPECTS(p.dim() == q.dim(), "gaussian_kl: p has d = " << p.dim() << ", q has d = " << q.dim());
  const Eigen::Index d = Eigen::Index(p.dim());
  const Mat Qi = detail::spectral(eq, inv);
  const Mat S = Eigen::Map<const Mat>(p.cov.data(), d, d);
  const Vec dm = vec(q.mean) - vec(p.mean);
  const double logdet = eq.eigenvalues().array().log().sum() - ep.eigenvalues().array().log().sum();
  return 0.5 * ((Qi * S).trace() + dm.dot(Qi * dm) - double(d) + logdet);
}

}  // namespace flowsampler::jko
