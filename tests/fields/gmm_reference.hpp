#pragma once
// Dense, slow reference for the exact Gaussian-mixture fields, straight from
// the definitions in the original coordinates (no whitening, no eigenbasis,
// no choice of velocity form): C_k = a^2 S_k + b^2 Sigma_n,
// r_k ∝ w_k N(z; a m_k, C_k), E[X | z, k] = m_k + a S_k C_k^-1 (z - a m_k),
// E[Y | z, k] = b Sigma_n C_k^-1 (z - a m_k), v = sum_k r_k (a' E[X|k] + b' E[Y|k]).
#include <Eigen/Dense>
#include <cmath>
#include <vector>

namespace flowsampler::test {

struct DenseGmm {
  std::vector<double> w;
  std::vector<Eigen::VectorXd> m;
  std::vector<Eigen::MatrixXd> S;
  Eigen::MatrixXd noise;  // Sigma_n
};

struct DenseFields {
  double log_density;
  Eigen::VectorXd denoiser, velocity;
};

inline DenseFields dense_fields(const DenseGmm& g, double a, double b, double da, double db, const Eigen::VectorXd& z) {
  const std::size_t K = g.w.size();
  const long d = z.size();
  std::vector<double> logits(K);
  std::vector<Eigen::VectorXd> ex(K), ey(K);
  double mx = -INFINITY;
  for (std::size_t k = 0; k < K; ++k) {
    const Eigen::MatrixXd C = a * a * g.S[k] + b * b * g.noise;
    const Eigen::LLT<Eigen::MatrixXd> llt(C);
    const Eigen::VectorXd diff = z - a * g.m[k];
    const Eigen::VectorXd sol = llt.solve(diff);
    const double logdet = 2 * llt.matrixL().toDenseMatrix().diagonal().array().log().sum();
    logits[k] = std::log(g.w[k]) - 0.5 * diff.dot(sol) - 0.5 * logdet - 0.5 * double(d) * std::log(2 * M_PI);
    mx = std::max(mx, logits[k]);
    ex[k] = g.m[k] + a * g.S[k] * sol;
    ey[k] = b * g.noise * sol;
  }
  double z_sum = 0;
  Eigen::VectorXd D = Eigen::VectorXd::Zero(d), v = Eigen::VectorXd::Zero(d);
  for (std::size_t k = 0; k < K; ++k) {
    const double r = std::exp(logits[k] - mx);
    z_sum += r;
    D += r * ex[k];
    v += r * (da * ex[k] + db * ey[k]);
  }
  return {mx + std::log(z_sum), D / z_sum, v / z_sum};
}

}  // namespace flowsampler::test
