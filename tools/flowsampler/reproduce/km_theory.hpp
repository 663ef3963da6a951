#pragma once
// The Kim-Milman stability constants of the seed (kim-milman-stability) and
// an independent, slow evaluation of a Gaussian mixture's score and Hessian at
// single points (Eigen loops, not the library's kernels), used to measure the
// quantities the constants bound: sup_x lambda_max(I + Hess log q_s), FI_inf.
#include <Eigen/Dense>

#include <cmath>
#include <functional>
#include <vector>

#include "flowsampler/targets/gaussian_mixture.hpp"

namespace flowsampler::cli::reproduce::km {

/// grad log p and Hess log p of a Gaussian mixture at one point.
class MixturePoint {
 public:
  explicit MixturePoint(const targets::GaussianMixture& g) {
    const std::size_t d = g.dim();
    const std::vector<double> w = g.weights();
    for (std::size_t k = 0; k < g.size(); ++k) {
      const std::vector<double> s = g.covariance(k);
      const Eigen::MatrixXd S = Eigen::Map<const Eigen::MatrixXd>(s.data(), static_cast<Eigen::Index>(d), static_cast<Eigen::Index>(d));
      P_.push_back(S.inverse());
      m_.push_back(Eigen::Map<const Eigen::VectorXd>(g.mean(k).data(), static_cast<Eigen::Index>(d)));
      c_.push_back(std::log(w[k]) - 0.5 * std::log(S.determinant()));
    }
  }
  Eigen::VectorXd score(const Eigen::VectorXd& x) const { return eval(x, false).first; }
  Eigen::MatrixXd hessian(const Eigen::VectorXd& x) const { return eval(x, true).second; }

 private:
  // With g_k = P_k (x - m_k) and posterior weights r_k:
  // grad = -sum r_k g_k, Hess = -sum r_k P_k + Cov_r(g_k).
  std::pair<Eigen::VectorXd, Eigen::MatrixXd> eval(const Eigen::VectorXd& x, bool hess) const {
    const std::size_t K = P_.size();
    std::vector<Eigen::VectorXd> g(K);
    std::vector<double> lr(K);
    double top = -INFINITY;
    for (std::size_t k = 0; k < K; ++k) {
      g[k] = P_[k] * (x - m_[k]);
      lr[k] = c_[k] - 0.5 * (x - m_[k]).dot(g[k]);
      top = std::max(top, lr[k]);
    }
    double z = 0;
    for (double& v : lr) z += (v = std::exp(v - top));
    Eigen::VectorXd gbar = Eigen::VectorXd::Zero(x.size());
    Eigen::MatrixXd H = Eigen::MatrixXd::Zero(x.size(), x.size());
    for (std::size_t k = 0; k < K; ++k) {
      const double r = lr[k] / z;
      gbar += r * g[k];
      if (hess) H += r * (g[k] * g[k].transpose() - P_[k]);
    }
    if (hess) H -= gbar * gbar.transpose();
    return {-gbar, H};
  }
  std::vector<Eigen::MatrixXd> P_;
  std::vector<Eigen::VectorXd> m_;
  std::vector<double> c_;
};

/// (Theta) for alpha-strongly log-concave mu (Section 3.2.1; attained by N(0, alpha^-1) along its weakest direction).
inline double theta_log_concave(double alpha, double u) { return (1 - alpha) / (alpha * std::expm1(2 * u) + 1); }

/// (3.3), [3]: mu = exp(-V - H), V alpha-strongly convex, H L-Lipschitz (u > 0).
inline double theta_lipschitz_tilt(double alpha, double L, double u) {
  const double e = std::exp(2 * u), q = alpha * (e - 1) + 1;
  return (1 - alpha) / q + e * L * L / (q * q) + 2 * L * e / (std::pow(q, 1.5) * std::sqrt(e - 1));
}

/// [8, Lemma 5.9] as used by Corollary 3.7: mu = gamma exp(-h), kappa_h(r) >= alpha - g(r) / r, g'(0) = gp.
inline double theta_convexity_profile(double alpha, double gp, double u) {
  const double e = std::exp(-2 * u), q = 1 + (1 - e) * alpha;
  return -e / q * (alpha - gp / q);
}

/// Lambda_T = int_0^T e^{-r} exp(3 int_0^r theta_u du) dr (Proposition 3.1) by the trapezoid rule on both integrals.
/// theta may be singular like u^-1/2 at 0 (3.3): the inner rule starts at the midpoint of the first cell there.
inline double lambda_T(const std::function<double(double)>& theta, double T, int m = 200000) {
  const double h = T / m;
  double Theta = 0, integral = 0, prev = 1, th_prev = theta(0.5 * h);
  for (int i = 1; i <= m; ++i) {
    const double r = i * h, th = theta(r);
    Theta += i == 1 ? h * th_prev : 0.5 * h * (th_prev + th);
    th_prev = th;
    const double f = std::exp(-r + 3 * Theta);
    integral += 0.5 * h * (prev + f);
    prev = f;
  }
  return integral;
}

/// Corollary 3.4's theta integrated in closed form: (1 - (alpha e^{2T} + 1 - alpha)^{-1/2}) / alpha.
inline double lambda_log_concave_closed(double alpha, double T) {
  return (1 - 1 / std::sqrt(alpha * std::exp(2 * T) + 1 - alpha)) / alpha;
}

/// The constants of Corollaries 3.5 / 4.4 and 3.7 / 4.5 (the same for L2 and L_inf).
inline double constant_cor35(double alpha, double L) {
  return std::exp(1.5 * L * L / alpha + 6 * L / std::sqrt(alpha)) / alpha;
}
inline double constant_cor37(double alpha, double gp) { return std::exp(1.5 * gp / (1 + alpha)) / (1 + alpha); }

}  // namespace flowsampler::cli::reproduce::km
