// Gaussian closures: the (m, C) ODEs of flows that keep a cloud Gaussian, and
// the Bures-Wasserstein geodesic. Formulas and sources: gaussian_closure.hpp.
#include "flowsampler/fields/gaussian_closure.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/symmetric_matrix.hpp"
#include "flowsampler/core/error.hpp"

namespace flowsampler::fields {
namespace {

using Mat = Eigen::MatrixXd;
using Vec = Eigen::VectorXd;
using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Ascending eigenvalues, eigenvectors in columns.
using Spectrum = detail::SymmetricEigen;

Spectrum spectrum(const Mat& C) {
  Spectrum es(C);
  FLOWSAMPLER_EXPECTS(es.info() == Eigen::Success, "covariance eigendecomposition failed");
  return es;
}

// Numerically positive definite: a smallest eigenvalue at rounding level of
// the largest is a singular matrix, whatever its sign.
bool positive_definite(const Vec& l) {
  const double tol = 16.0 * double(l.size()) * std::numeric_limits<double>::epsilon();
  return l(0) > tol * std::max(l(l.size() - 1), 0.0) && l(0) > 0;
}

// Size, finiteness and symmetry of a d x d row-major matrix named `what`.
Mat checked_matrix(const std::vector<double>& C, std::size_t d, const char* what) {
  FLOWSAMPLER_EXPECTS(d >= 1, what << ": dimension d must be >= 1, got " << d);
  FLOWSAMPLER_EXPECTS(C.size() == d * d, what << ": expected d x d = " << d * d << " entries, got " << C.size());
  Mat M = Eigen::Map<const RowMajor>(C.data(), Eigen::Index(d), Eigen::Index(d));
  FLOWSAMPLER_EXPECTS(M.allFinite(), what << ": entries must be finite");
  const double asym = (M - M.transpose()).cwiseAbs().maxCoeff();
  FLOWSAMPLER_EXPECTS(asym <= 1e-10 * std::max(1.0, M.cwiseAbs().maxCoeff()),
                      what << ": must be symmetric, max |C_ij - C_ji| = " << asym);
  return detail::symmetric_part(M);
}

Spectrum checked_pd(const Mat& C, const char* what) {
  Spectrum s = spectrum(C);
  FLOWSAMPLER_EXPECTS(positive_definite(s.eigenvalues()),
                      what << ": must be positive definite, smallest eigenvalue " << s.eigenvalues()(0));
  return s;
}

Vec checked_vector(const std::vector<double>& v, std::size_t d, const char* what) {
  FLOWSAMPLER_EXPECTS(v.size() == d, what << ": expected " << d << " entries, got " << v.size());
  Vec x = Eigen::Map<const Vec>(v.data(), Eigen::Index(d));
  FLOWSAMPLER_EXPECTS(x.allFinite(), what << ": entries must be finite");
  return x;
}

std::vector<double> flat(const Mat& M) {
  std::vector<double> out(std::size_t(M.size()));
  Eigen::Map<RowMajor>(out.data(), M.rows(), M.cols()) = M;
  return out;
}
std::vector<double> flat(const Vec& v) { return std::vector<double>(v.data(), v.data() + v.size()); }

// V(C) = 2 E_theta[((theta^T C theta)^-1/2 - 1) theta theta^T] (seed line 101),
// diagonal in C's eigenbasis by the symmetry theta_i -> -theta_i. For g ~ N(0, I),
// g = |g| theta with |g| independent of theta, and the integrand is 1-homogeneous,
// so E_theta[f] = E_g[f] / E|g|. With a^-1/2 = pi^-1/2 int s^-1/2 e^{-s a} ds and
// Gaussian moments, E_g[(g^T L g)^-1/2 g_i^2] = (2/sqrt(pi)) J_i,
//   J_i = int_0^inf (1 + 2 l_i u^2)^-1 prod_j (1 + 2 l_j u^2)^-1/2 du,
// a smooth 1-D integral with algebraic decay: exp-sinh quadrature.
Mat sliced_velocity(const Spectrum& s) {
  const Eigen::Index d = s.eigenvalues().size();
  const double g = std::sqrt(s.eigenvalues()(0) * s.eigenvalues()(d - 1));  // u = w / sqrt(2 g) centres the features
  const Vec r = s.eigenvalues() / g;
  const double h = 1.0 / 64, T = 4.5, half_pi = 2.0 * std::atan(1.0);
  Vec J = Vec::Zero(d);
  for (double t = -T; t <= T + 0.5 * h; t += h) {
    const double w = std::exp(half_pi * std::sinh(t));
    const double jac = w * half_pi * std::cosh(t);
    double logp = 0;
    for (Eigen::Index j = 0; j < d; ++j) logp -= 0.5 * std::log1p(r(j) * w * w);
    const double common = h * jac * std::exp(logp);
    for (Eigen::Index i = 0; i < d; ++i) J(i) += common / (1.0 + r(i) * w * w);
  }
  J /= std::sqrt(2.0 * g);
  // E|g| = sqrt(2) Gamma((d+1)/2) / Gamma(d/2).
  const double dd = double(d);
  const double mean_norm = std::sqrt(2.0) * std::exp(std::lgamma(0.5 * (dd + 1)) - std::lgamma(0.5 * dd));
  const double pi = 4.0 * std::atan(1.0);
  const Vec v = 2.0 * ((2.0 / std::sqrt(pi)) * J / mean_norm - Vec::Constant(d, 1.0 / dd));
  return s.eigenvectors() * v.asDiagonal() * s.eigenvectors().transpose();
}

// dC/dt of the centered rows (header table). C symmetric.
Mat cov_rhs(Closure c, const Mat& C) {
  const Mat I = Mat::Identity(C.rows(), C.cols());
  switch (c) {
    case Closure::kl_standard:
      return 2.0 * (I - C);
    case Closure::mmd_polynomial:
      return 8.0 * (C - C * C);
    default:
      break;
  }
  const Spectrum s = checked_pd(C, "closure_rhs: C");
  switch (c) {
    case Closure::fisher:
      return detail::spectral(s, [](double l) { return 2.0 * (1.0 / l - l); });
    case Closure::w2_squared:
      return detail::spectral(s, [](double l) { return 4.0 * (std::sqrt(l) - l); });
    default: {  // sliced_w2
      const Mat V = sliced_velocity(s);
      const Mat D = V * C;
      return D + D.transpose();
    }
  }
}

// (m', C') of the full state.
std::pair<Vec, Mat> state_rhs(Closure c, const Vec& m, const Mat& C) {
  const double dd = double(m.size());
  switch (c) {
    case Closure::kl_standard:
    case Closure::fisher:
      return {-m, cov_rhs(c, C)};
    case Closure::w2_squared:
      return {-2.0 * m, cov_rhs(c, C)};
    case Closure::sliced_w2:
      return {(-2.0 / dd) * m, cov_rhs(c, C)};
    case Closure::mmd_polynomial: {
      const Mat A = 4.0 * (Mat::Identity(C.rows(), C.cols()) - C - m * m.transpose());
      const Mat D = A * C;
      return {A * m, D + D.transpose()};
    }
  }
  FLOWSAMPLER_FAIL("unknown closure");
}

}  // namespace

Closure parse_closure(const std::string& name, const std::string& what) {
  return parse_name(closure_names, name, what);
}

std::string to_string(Closure c) { return name_of(closure_names, c); }

std::vector<double> closure_rhs(Closure c, const std::vector<double>& C, std::size_t d) {
  return flat(cov_rhs(c, checked_matrix(C, d, "closure_rhs: C")));
}

std::vector<double> closure_mean_rhs(Closure c, const std::vector<double>& mean, const std::vector<double>& C) {
  const std::size_t d = mean.size();
  const Mat M = checked_matrix(C, d, "closure_mean_rhs: C");
  const Vec m = checked_vector(mean, d, "closure_mean_rhs: mean");
  if (c == Closure::mmd_polynomial) return flat(state_rhs(c, m, M).first);
  const double rate = c == Closure::w2_squared ? 2.0 : c == Closure::sliced_w2 ? 2.0 / double(d) : 1.0;
  return flat(Vec(-rate * m));  // the other closures' means decouple from C
}

GaussianState closure_state_rhs(Closure c, const GaussianState& s) {
  const std::size_t d = s.mean.size();
  const auto r = state_rhs(c, checked_vector(s.mean, d, "closure_state_rhs: mean"),
                           checked_matrix(s.cov, d, "closure_state_rhs: cov"));
  return {flat(r.first), flat(r.second)};
}

std::vector<double> sliced_w2_velocity(const std::vector<double>& C, std::size_t d) {
  return flat(sliced_velocity(checked_pd(checked_matrix(C, d, "sliced_w2_velocity: C"), "sliced_w2_velocity: C")));
}

std::vector<GaussianState> integrate_closure(Closure c, const GaussianState& start, double t_end, int steps) {
  const std::size_t d = start.mean.size();
  FLOWSAMPLER_EXPECTS(d >= 1, "integrate_closure: start.mean must have d >= 1 entries, got 0");
  Vec m = checked_vector(start.mean, d, "integrate_closure: start.mean");
  Mat C = checked_matrix(start.cov, d, "integrate_closure: start.cov");
  checked_pd(C, "integrate_closure: start.cov");
  FLOWSAMPLER_EXPECTS(std::isfinite(t_end) && t_end >= 0, "integrate_closure: t_end must be finite and >= 0, got " << t_end);
  FLOWSAMPLER_EXPECTS(steps >= 1, "integrate_closure: steps must be >= 1, got " << steps);
  const double dt = t_end / steps;
  std::vector<GaussianState> out;
  out.reserve(std::size_t(steps) + 1);
  out.push_back(start);  // as given, not re-symmetrized
  for (int k = 1; k <= steps; ++k) {
    try {
      const auto k1 = state_rhs(c, m, C);
      const auto k2 = state_rhs(c, m + 0.5 * dt * k1.first, C + 0.5 * dt * k1.second);
      const auto k3 = state_rhs(c, m + 0.5 * dt * k2.first, C + 0.5 * dt * k2.second);
      const auto k4 = state_rhs(c, m + dt * k3.first, C + dt * k3.second);
      m += (dt / 6.0) * (k1.first + 2.0 * k2.first + 2.0 * k3.first + k4.first);
      C += (dt / 6.0) * (k1.second + 2.0 * k2.second + 2.0 * k3.second + k4.second);
    } catch (const Error& e) {  // an RK stage left the PD cone: say where
      FLOWSAMPLER_EXPECTS(false, "integrate_closure(" << to_string(c) << "): step " << k << " of " << steps
                                                      << " (t = " << (k - 1) * dt << "): " << e.what());
    }
    C = detail::symmetric_part(C);  // RK4 keeps C symmetric only up to rounding
    FLOWSAMPLER_EXPECTS(m.allFinite() && C.allFinite(),
                        "integrate_closure(" << to_string(c) << "): non-finite state at step " << k);
    const Vec l = spectrum(C).eigenvalues();
    FLOWSAMPLER_EXPECTS(positive_definite(l), "integrate_closure(" << to_string(c) << "): covariance lost positive "
                                              "definiteness at step " << k << " of " << steps << " (t = " << k * dt
                                              << "), smallest eigenvalue " << l(0));
    out.push_back({flat(m), flat(C)});
  }
  return out;
}

GaussianState bures_geodesic(const GaussianState& a, const GaussianState& b, double s) {
  const std::size_t d = a.mean.size();
  FLOWSAMPLER_EXPECTS(d >= 1, "bures_geodesic: a.mean must have d >= 1 entries, got 0");
  FLOWSAMPLER_EXPECTS(b.mean.size() == d, "bures_geodesic: b.mean must have " << d << " entries like a.mean, got "
                                                                             << b.mean.size());
  FLOWSAMPLER_EXPECTS(s >= 0 && s <= 1, "bures_geodesic: s must be in [0, 1], got " << s);
  const Vec ma = checked_vector(a.mean, d, "bures_geodesic: a.mean");
  const Vec mb = checked_vector(b.mean, d, "bures_geodesic: b.mean");
  const Mat Ca = checked_matrix(a.cov, d, "bures_geodesic: a.cov");
  const Mat Cb = checked_matrix(b.cov, d, "bures_geodesic: b.cov");
  const Spectrum sa = checked_pd(Ca, "bures_geodesic: a.cov");
  checked_pd(Cb, "bures_geodesic: b.cov");
  if (s == 0) return a;  // endpoints exact, not T C_a T up to rounding
  if (s == 1) return b;
  const Mat Ah = detail::spectral(sa, [](double l) { return std::sqrt(l); });
  const Mat Aih = detail::spectral(sa, [](double l) { return 1.0 / std::sqrt(l); });
  const Mat mid = Ah * Cb * Ah;
  const Mat Tm = Aih * detail::spectral(spectrum(detail::symmetric_part(mid)), [](double l) {
                   return std::sqrt(std::max(l, 0.0));  // PSD up to rounding
                 }) * Aih;
  const Mat M = (1 - s) * Mat::Identity(Eigen::Index(d), Eigen::Index(d)) + s * detail::symmetric_part(Tm);
  const Mat Cs = M * Ca * M;
  return {flat(Vec((1 - s) * ma + s * mb)), flat(Mat(detail::symmetric_part(Cs)))};
}

}  // namespace flowsampler::fields
