// The closed-form Bures–Wasserstein JKO step against a numerical minimiser of
// the JKO objective over Gaussians, and its contraction towards the target.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <algorithm>
#include <functional>
#include <random>

#include "flowsampler/core/error.hpp"
#include "flowsampler/jko/bures_step.hpp"
#include "flowsampler/metrics/gaussian_w2.hpp"

namespace fs = flowsampler;
using fs::jko::Gaussian;

namespace {

// A random SPD matrix with eigenvalues in [lo, hi].
std::vector<double> random_spd(std::mt19937& rng, int d, double lo, double hi) {
  std::normal_distribution<double> n01;
  std::uniform_real_distribution<double> u(lo, hi);
  Eigen::MatrixXd G(d, d);
  for (int i = 0; i < d; ++i)
    for (int j = 0; j < d; ++j) G(i, j) = n01(rng);
  const Eigen::MatrixXd Q = Eigen::HouseholderQR<Eigen::MatrixXd>(G).householderQ();
  Eigen::VectorXd lam(d);
  for (int i = 0; i < d; ++i) lam(i) = u(rng);
  const Eigen::MatrixXd S = Q * lam.asDiagonal() * Q.transpose();
  std::vector<double> out(static_cast<std::size_t>(d * d));
  for (int i = 0; i < d; ++i)
    for (int j = 0; j < d; ++j) out[std::size_t(i * d + j)] = 0.5 * (S(i, j) + S(j, i));
  return out;
}

std::vector<double> random_vec(std::mt19937& rng, int d, double s) {
  std::normal_distribution<double> n01;
  std::vector<double> v(static_cast<std::size_t>(d));
  for (double& x : v) x = s * n01(rng);
  return v;
}

// KL(N(m, S) || N(m*, S*)) written out with Eigen (independent of gaussian_kl).
double kl_ref(const Eigen::VectorXd& m, const Eigen::MatrixXd& S, const Eigen::VectorXd& ms, const Eigen::MatrixXd& Ss) {
  const Eigen::MatrixXd P = Ss.inverse();
  const Eigen::VectorXd dm = ms - m;
  return 0.5 * ((P * S).trace() + dm.dot(P * dm) - double(m.size()) + std::log(Ss.determinant() / S.determinant()));
}

// Nelder–Mead with restarts (the restarts rebuild the simplex around the best point).
std::vector<double> nelder_mead(const std::function<double(const std::vector<double>&)>& f, std::vector<double> x0, double step,
                                int restarts, int iters) {
  const std::size_t n = x0.size();
  for (int r = 0; r < restarts; ++r, step *= 0.3) {
    std::vector<std::vector<double>> p(n + 1, x0);
    for (std::size_t i = 0; i < n; ++i) p[i + 1][i] += step;
    std::vector<double> v(n + 1);
    for (std::size_t i = 0; i <= n; ++i) v[i] = f(p[i]);
    for (int it = 0; it < iters; ++it) {
      std::vector<std::size_t> o(n + 1);
      for (std::size_t i = 0; i <= n; ++i) o[i] = i;
      std::sort(o.begin(), o.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
      std::vector<std::vector<double>> q(n + 1);
      std::vector<double> w(n + 1);
      for (std::size_t i = 0; i <= n; ++i) {
        q[i] = p[o[i]];
        w[i] = v[o[i]];
      }
      p = q;
      v = w;
      std::vector<double> c(n, 0.0);
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t k = 0; k < n; ++k) c[k] += p[i][k] / double(n);
      auto along = [&](double t) {
        std::vector<double> y(n);
        for (std::size_t k = 0; k < n; ++k) y[k] = c[k] + t * (p[n][k] - c[k]);
        return y;
      };
      const std::vector<double> xr = along(-1);
      const double fr = f(xr);
      if (fr < v[0]) {
        const std::vector<double> xe = along(-2);
        const double fe = f(xe);
        if (fe < fr) { p[n] = xe; v[n] = fe; } else { p[n] = xr; v[n] = fr; }
      } else if (fr < v[n - 1]) {
        p[n] = xr;
        v[n] = fr;
      } else {
        const std::vector<double> xc = fr < v[n] ? along(-0.5) : along(0.5);
        const double fc = f(xc);
        if (fc < std::min(fr, v[n])) {
          p[n] = xc;
          v[n] = fc;
        } else {
          for (std::size_t i = 1; i <= n; ++i) {
            for (std::size_t k = 0; k < n; ++k) p[i][k] = p[0][k] + 0.5 * (p[i][k] - p[0][k]);
            v[i] = f(p[i]);
          }
        }
      }
    }
    std::size_t b = 0;
    for (std::size_t i = 1; i <= n; ++i)
      if (v[i] < v[b]) b = i;
    x0 = p[b];
  }
  return x0;
}

class BuresStep : public ::testing::TestWithParam<int> {};

TEST_P(BuresStep, MinimisesTheJkoObjectiveOverGaussians) {
  const int d = GetParam();
  std::mt19937 rng(7 + d);
  for (int trial = 0; trial < 2; ++trial) {
    const Gaussian rho{random_vec(rng, d, 1.5), random_spd(rng, d, 0.3, 2.5)};
    const Gaussian tgt{random_vec(rng, d, 1.0), random_spd(rng, d, 0.5, 2.0)};
    const double h = trial == 0 ? 0.3 : 1.2;
    const auto step = fs::jko::bures_jko_step(rho, tgt, h);
    const Eigen::VectorXd ms = Eigen::Map<const Eigen::VectorXd>(tgt.mean.data(), d);
    const Eigen::MatrixXd Ss = Eigen::Map<const Eigen::MatrixXd>(tgt.cov.data(), d, d);
    // Parameters (m, lower-triangular L with log-diagonal), S = L L^T.
    auto unpack = [&](const std::vector<double>& p, Eigen::VectorXd& m, Eigen::MatrixXd& S) {
      m = Eigen::Map<const Eigen::VectorXd>(p.data(), d);
      Eigen::MatrixXd L = Eigen::MatrixXd::Zero(d, d);
      std::size_t at = std::size_t(d);
      for (int i = 0; i < d; ++i)
        for (int j = 0; j <= i; ++j) L(i, j) = i == j ? std::exp(p[at++]) : p[at++];
      S = L * L.transpose();
    };
    auto J = [&](const std::vector<double>& p) {
      Eigen::VectorXd m;
      Eigen::MatrixXd S;
      unpack(p, m, S);
      std::vector<double> Sv(S.data(), S.data() + S.size()), mv(m.data(), m.data() + d);
      return kl_ref(m, S, ms, Ss) + fs::metrics::bures_w2_squared(mv, Sv, rho.mean, rho.cov) / (2 * h);
    };
    // Start from rho itself.
    std::vector<double> p0(rho.mean);
    const Eigen::MatrixXd S0 = Eigen::Map<const Eigen::MatrixXd>(rho.cov.data(), d, d);
    const Eigen::MatrixXd L0 = S0.llt().matrixL();
    for (int i = 0; i < d; ++i)
      for (int j = 0; j <= i; ++j) p0.push_back(i == j ? std::log(L0(i, i)) : L0(i, j));
    const std::vector<double> best = nelder_mead(J, p0, 0.5, 12, 4000);
    Eigen::VectorXd m;
    Eigen::MatrixXd S;
    unpack(best, m, S);
    for (int i = 0; i < d; ++i) {
      EXPECT_NEAR(step.next.mean[std::size_t(i)], m(i), 2e-4) << "d = " << d << " trial " << trial;
      for (int j = 0; j < d; ++j) EXPECT_NEAR(step.next.cov[std::size_t(i * d + j)], S(i, j), 5e-4) << "d = " << d << " (" << i << "," << j << ")";
    }
    // The closed form is at least as good as the numerical minimum.
    std::vector<double> pc(step.next.mean);
    const Eigen::MatrixXd Sc = Eigen::Map<const Eigen::MatrixXd>(step.next.cov.data(), d, d);
    const Eigen::MatrixXd Lc = Sc.llt().matrixL();
    for (int i = 0; i < d; ++i)
      for (int j = 0; j <= i; ++j) pc.push_back(i == j ? std::log(Lc(i, i)) : Lc(i, j));
    EXPECT_LE(J(pc), J(best) + 1e-10);
  }
}

TEST_P(BuresStep, SatisfiesTheFirstOrderConditionAndPushesForward) {
  const int d = GetParam();
  std::mt19937 rng(11 + d);
  const Gaussian rho{random_vec(rng, d, 1.0), random_spd(rng, d, 0.2, 3.0)};
  const Gaussian tgt{random_vec(rng, d, 1.0), random_spd(rng, d, 0.4, 2.0)};
  const double h = 0.7;
  const auto st = fs::jko::bures_jko_step(rho, tgt, h);
  const Eigen::MatrixXd A = Eigen::Map<const Eigen::MatrixXd>(st.A.data(), d, d);
  const Eigen::MatrixXd S = Eigen::Map<const Eigen::MatrixXd>(rho.cov.data(), d, d);
  const Eigen::MatrixXd Sp = Eigen::Map<const Eigen::MatrixXd>(st.next.cov.data(), d, d);
  const Eigen::MatrixXd Ss = Eigen::Map<const Eigen::MatrixXd>(tgt.cov.data(), d, d);
  const Eigen::VectorXd m = Eigen::Map<const Eigen::VectorXd>(rho.mean.data(), d);
  const Eigen::VectorXd mp = Eigen::Map<const Eigen::VectorXd>(st.next.mean.data(), d);
  const Eigen::VectorXd ms = Eigen::Map<const Eigen::VectorXd>(tgt.mean.data(), d);
  EXPECT_LT((A - A.transpose()).norm(), 1e-12);  // an OT map between Gaussians: symmetric positive definite slope
  EXPECT_GT(Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(A).eigenvalues().minCoeff(), 0);
  EXPECT_LT((A * S * A - Sp).norm(), 1e-10);
  // (T(x) - x)/h + S*^-1 (T(x) - m*) - S+^-1 (T(x) - m+) = 0 at random x.
  for (int t = 0; t < 5; ++t) {
    const std::vector<double> xv = random_vec(rng, d, 2.0);
    const Eigen::VectorXd x = Eigen::Map<const Eigen::VectorXd>(xv.data(), d);
    const Eigen::VectorXd y = mp + A * (x - m);
    const Eigen::VectorXd r = (y - x) / h + Ss.inverse() * (y - ms) - Sp.inverse() * (y - mp);
    EXPECT_LT(r.norm(), 1e-9 * (1 + x.norm()));
  }
}

TEST_P(BuresStep, ContractsW2ByOnePlusHLambda) {
  const int d = GetParam();
  std::mt19937 rng(23 + d);
  const Gaussian tgt{random_vec(rng, d, 1.0), random_spd(rng, d, 0.5, 3.0)};
  const Eigen::MatrixXd Ss = Eigen::Map<const Eigen::MatrixXd>(tgt.cov.data(), d, d);
  const double lambda = 1 / Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(Ss).eigenvalues().maxCoeff();
  Gaussian g{random_vec(rng, d, 3.0), random_spd(rng, d, 0.05, 6.0)};
  const double w0 = std::sqrt(fs::metrics::bures_w2_squared(g.mean, g.cov, tgt.mean, tgt.cov));
  for (double h : {0.1, 0.5, 2.0}) {
    // The bound is attained in the slowest direction as k grows, so compare
    // while W2 is well above the rounding of the Bures formula (~1e-8).
    const int K = int(std::ceil(std::log(1e4) / std::log1p(h * lambda)));
    Gaussian x = g;
    double w = w0;
    for (int k = 0; k < K; ++k) {
      x = fs::jko::bures_jko_step(x, tgt, h).next;
      const double wn = std::sqrt(fs::metrics::bures_w2_squared(x.mean, x.cov, tgt.mean, tgt.cov));
      EXPECT_LE(wn, w / (1 + h * lambda) * (1 + 1e-6) + 1e-7) << "h = " << h << " step " << k;
      w = wn;
    }
    EXPECT_LE(w, 1e-4 * w0 * (1 + 1e-3) + 1e-7) << "h = " << h;
    // And the rate is not much better than the bound: the last steps contract
    // by about (1 + h lambda)^-1 (the slowest eigendirection dominates).
    const Gaussian y = fs::jko::bures_jko_step(x, tgt, h).next;
    const double ratio = std::sqrt(fs::metrics::bures_w2_squared(y.mean, y.cov, tgt.mean, tgt.cov)) / w;
    EXPECT_GT(ratio, 0.8 / (1 + h * lambda)) << "h = " << h;
  }
}

INSTANTIATE_TEST_SUITE_P(Dims, BuresStep, ::testing::Values(1, 2, 3));

TEST_P(BuresStep, OtSlopeIsTheSymmetricRootOfTheCovariances) {
  const int d = GetParam();
  std::mt19937 rng(31 + d);
  const Gaussian a{random_vec(rng, d, 1), random_spd(rng, d, 0.2, 3)}, b{random_vec(rng, d, 1), random_spd(rng, d, 0.4, 2)};
  const std::vector<double> g = fs::jko::gaussian_ot_slope(a, b);
  const Eigen::MatrixXd G = Eigen::Map<const Eigen::MatrixXd>(g.data(), d, d);
  const Eigen::MatrixXd Sa = Eigen::Map<const Eigen::MatrixXd>(a.cov.data(), d, d), Sb = Eigen::Map<const Eigen::MatrixXd>(b.cov.data(), d, d);
  // The unique symmetric positive definite G with G Sa G = Sb (Brenier: an affine gradient of a convex function).
  EXPECT_LT((G - G.transpose()).norm(), 1e-12);
  EXPECT_GT(Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(G).eigenvalues().minCoeff(), 0);
  EXPECT_LT((G * Sa * G - Sb).norm(), 1e-10 * (1 + Sb.norm()));
  // Its transport cost is the Bures W2^2: E|G (x - ma) - (x - ma)|^2 + |mb - ma|^2.
  const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(d, d);
  double dm = 0;
  for (int i = 0; i < d; ++i) dm += std::pow(a.mean[std::size_t(i)] - b.mean[std::size_t(i)], 2);
  EXPECT_NEAR(((G - I) * Sa * (G - I)).trace() + dm, fs::metrics::bures_w2_squared(a.mean, a.cov, b.mean, b.cov), 1e-10);
}

TEST_P(BuresStep, FirstOrderResidualIsZeroExactlyAtTheJkoStep) {
  const int d = GetParam();
  std::mt19937 rng(37 + d);
  const Gaussian rho{random_vec(rng, d, 1.5), random_spd(rng, d, 0.2, 3.0)};
  const Gaussian tgt{random_vec(rng, d, 1.0), random_spd(rng, d, 0.4, 2.0)};
  for (double h : {0.1, 0.7}) {
    const Gaussian next = fs::jko::bures_jko_step(rho, tgt, h).next;
    EXPECT_LT(fs::jko::bures_first_order_residual(rho, next, tgt, h), 1e-8) << "h = " << h;
    // Not at rho itself (no step), nor at a step to a slightly wrong covariance.
    EXPECT_GT(fs::jko::bures_first_order_residual(rho, rho, tgt, h), 1e-2) << "h = " << h;
    Gaussian off = next;
    for (double& c : off.cov) c *= 0.9;
    EXPECT_GT(fs::jko::bures_first_order_residual(rho, off, tgt, h), 1e-2) << "h = " << h;
  }
}

TEST_P(BuresStep, FirstOrderResidualIsTheL2NormOfTheField) {
  // Reference: the field (y - T(y)) / h + S*^-1 (y - m*) - S+^-1 (y - m+) with
  // T(y) = m + G (y - m+), G the geometric mean S+^-1 # S = S+^-1 (S+ S)^1/2
  // from the (non-symmetric) eigendecomposition of S+ S, averaged exactly
  // over N(m+, S+) by its 2d sigma points m+ +- sqrt(d) L e_i (an affine
  // field's square has a quadratic mean: the sigma points carry it exactly).
  const int d = GetParam();
  std::mt19937 rng(41 + d);
  for (int trial = 0; trial < 3; ++trial) {
    const Gaussian from{random_vec(rng, d, 1.0), random_spd(rng, d, 0.3, 3.0)};
    const Gaussian to{random_vec(rng, d, 1.0), random_spd(rng, d, 0.3, 3.0)};
    const Gaussian tgt{random_vec(rng, d, 1.0), random_spd(rng, d, 0.5, 2.0)};
    const double h = 0.4;
    const Eigen::MatrixXd S = Eigen::Map<const Eigen::MatrixXd>(from.cov.data(), d, d);
    const Eigen::MatrixXd Sp = Eigen::Map<const Eigen::MatrixXd>(to.cov.data(), d, d);
    const Eigen::MatrixXd Ss = Eigen::Map<const Eigen::MatrixXd>(tgt.cov.data(), d, d);
    const Eigen::VectorXd m = Eigen::Map<const Eigen::VectorXd>(from.mean.data(), d);
    const Eigen::VectorXd mp = Eigen::Map<const Eigen::VectorXd>(to.mean.data(), d);
    const Eigen::VectorXd ms = Eigen::Map<const Eigen::VectorXd>(tgt.mean.data(), d);
    Eigen::EigenSolver<Eigen::MatrixXd> es(Sp * S);  // real positive eigenvalues (similar to an SPD matrix)
    const Eigen::MatrixXd V = es.eigenvectors().real();
    const Eigen::VectorXd lam = es.eigenvalues().real();
    const Eigen::MatrixXd root = V * lam.cwiseSqrt().asDiagonal() * V.inverse();
    const Eigen::MatrixXd G = Sp.inverse() * root;
    const Eigen::MatrixXd L = Sp.llt().matrixL();
    double sum = 0;
    for (int i = 0; i < d; ++i)
      for (double sgn : {-1.0, 1.0}) {
        const Eigen::VectorXd y = mp + sgn * std::sqrt(double(d)) * L.col(i);
        const Eigen::VectorXd T = m + G * (y - mp);
        sum += ((y - T) / h + Ss.inverse() * (y - ms) - Sp.inverse() * (y - mp)).squaredNorm();
      }
    const double ref = std::sqrt(sum / (2 * d));
    EXPECT_NEAR(fs::jko::bures_first_order_residual(from, to, tgt, h), ref, 1e-9 * (1 + ref)) << "trial " << trial;
  }
}

TEST(BuresStep, GaussianKlMatchesAReference) {
  std::mt19937 rng(3);
  const Gaussian p{random_vec(rng, 3, 1), random_spd(rng, 3, 0.3, 2)}, q{random_vec(rng, 3, 1), random_spd(rng, 3, 0.3, 2)};
  const double ref = kl_ref(Eigen::Map<const Eigen::VectorXd>(p.mean.data(), 3), Eigen::Map<const Eigen::MatrixXd>(p.cov.data(), 3, 3),
                            Eigen::Map<const Eigen::VectorXd>(q.mean.data(), 3), Eigen::Map<const Eigen::MatrixXd>(q.cov.data(), 3, 3));
  EXPECT_NEAR(fs::jko::gaussian_kl(p, q), ref, 1e-12);
  EXPECT_NEAR(fs::jko::gaussian_kl(p, p), 0, 1e-12);
}

TEST(BuresStep, RejectsBadInput) {
  const Gaussian a{{0, 0}, {1, 0, 0, 1}}, b{{1, 0}, {2, 0, 0, 1}};
  EXPECT_THROW(fs::jko::bures_jko_step(a, b, 0), fs::Error);
  EXPECT_THROW(fs::jko::bures_jko_step(a, b, -1), fs::Error);
  EXPECT_THROW(fs::jko::bures_jko_step(a, b, NAN), fs::Error);
  EXPECT_THROW(fs::jko::bures_jko_step(a, Gaussian{{0, 0, 0}, {1, 0, 0, 0, 1, 0, 0, 0, 1}}, 0.1), fs::Error);  // d mismatch
  EXPECT_THROW(fs::jko::bures_jko_step(Gaussian{{0, 0}, {1, 0, 0, -1}}, b, 0.1), fs::Error);  // indefinite
  EXPECT_THROW(fs::jko::bures_jko_step(Gaussian{{0, 0}, {1, 0.5, 0, 1}}, b, 0.1), fs::Error);  // asymmetric
  EXPECT_THROW(fs::jko::bures_jko_step(Gaussian{{0, 0}, {1, 0, 0}}, b, 0.1), fs::Error);       // wrong size
  EXPECT_THROW(fs::jko::bures_jko_step(Gaussian{{}, {}}, b, 0.1), fs::Error);                  // empty
  EXPECT_THROW(fs::jko::bures_first_order_residual(a, b, a, 0), fs::Error);
  EXPECT_THROW(fs::jko::bures_first_order_residual(a, Gaussian{{0, 0}, {1, 0, 0, -1}}, a, 0.1), fs::Error);
  EXPECT_THROW(fs::jko::bures_first_order_residual(a, b, Gaussian{{0}, {1}}, 0.1), fs::Error);
  EXPECT_THROW(fs::jko::gaussian_ot_slope(a, Gaussian{{0}, {1}}), fs::Error);
}

}  // namespace
