// Gaussian closures against closed forms, quadrature references, a particle
// simulation and the Bures formula computed here, independently of the library.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <tuple>
#include <utility>

#include "flowsampler/core/error.hpp"
#include "flowsampler/fields/gaussian_closure.hpp"

#include "matrix_util.hpp"

namespace fs = flowsampler;
using fs::fields::Closure;
using fs::fields::GaussianState;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

using flowsampler::test::flat;
std::vector<double> flat(const VectorXd& v) { return std::vector<double>(v.data(), v.data() + v.size()); }
MatrixXd mat(const std::vector<double>& v, long d) {
  MatrixXd M(d, d);
  for (long i = 0; i < d; ++i)
    for (long j = 0; j < d; ++j) M(i, j) = v[std::size_t(i * d + j)];
  return M;
}
VectorXd vec(const std::vector<double>& v) { return Eigen::Map<const VectorXd>(v.data(), long(v.size())); }

MatrixXd spd(long d, unsigned seed, double lo, double hi) {  // random eigenvectors, eigenvalues lo..hi
  std::mt19937 rng(seed);
  std::normal_distribution<double> g;
  MatrixXd A(d, d);
  for (long i = 0; i < d; ++i)
    for (long j = 0; j < d; ++j) A(i, j) = g(rng);
  const MatrixXd Q = Eigen::HouseholderQR<MatrixXd>(A).householderQ();
  const VectorXd l = VectorXd::LinSpaced(d, lo, hi);
  return Q * l.asDiagonal() * Q.transpose();
}

// f applied to each eigenvalue: the closed forms below are scalar ODEs per eigenvalue,
// valid in d dimensions because each right-hand side is a spectral function of C.
MatrixXd spectral(const MatrixXd& C, const std::function<double(double)>& f) {
  Eigen::SelfAdjointEigenSolver<MatrixXd> e(C);
  const VectorXd fl = e.eigenvalues().unaryExpr(f);
  return e.eigenvectors() * fl.asDiagonal() * e.eigenvectors().transpose();
}
MatrixXd sqrtm(const MatrixXd& C) { return spectral(C, [](double l) { return std::sqrt(l); }); }

double bures_w2(const VectorXd& m1, const MatrixXd& C1, const VectorXd& m2, const MatrixXd& C2) {
  const MatrixXd r = sqrtm(C1);
  const double w2 = (m1 - m2).squaredNorm() + (C1 + C2 - 2 * sqrtm(r * C2 * r)).trace();
  return std::sqrt(std::max(w2, 0.0));
}

// Runs the closure to t_end and checks C(t_end), m(t_end) against closed forms.
void expect_closed_form(Closure c, const MatrixXd& C0, const VectorXd& m0, double t,
                        const std::function<double(double)>& cov_t, double mean_rate, double tol) {
  const auto path = fs::fields::integrate_closure(c, {flat(m0), flat(C0)}, t, 200);
  ASSERT_EQ(path.size(), 201u);
  const long d = C0.rows();
  EXPECT_LT((mat(path.back().cov, d) - spectral(C0, cov_t)).cwiseAbs().maxCoeff(), tol) << to_string(c);
  EXPECT_LT((vec(path.back().mean) - m0 * std::exp(-mean_rate * t)).cwiseAbs().maxCoeff(), tol) << to_string(c);
  EXPECT_EQ(mat(path.front().cov, d), C0);
}

}  // namespace

TEST(GaussianClosure, NamesRoundTrip) {
  for (const char* n : {"kl", "fisher", "w2", "mmd-poly", "sliced-w2"})
    EXPECT_EQ(to_string(fs::fields::parse_closure(n)), n);
  EXPECT_THROW(fs::fields::parse_closure("KL"), fs::Error);
  EXPECT_THROW(fs::fields::parse_closure("sinkhorn"), fs::Error);
}

// (a) KL: C' = 2(I - C) gives C(t) = I + (C0 - I) e^{-2t}; m' = -m.
TEST(GaussianClosure, KlMatchesClosedForm) {
  const double t = 1.0;
  const auto kl = [t](double c) { return 1 + (c - 1) * std::exp(-2 * t); };
  const VectorXd m0 = (VectorXd(4) << 1, -2, 0.5, 3).finished();
  expect_closed_form(Closure::kl_standard, VectorXd::LinSpaced(4, 0.2, 3.0).asDiagonal(), m0, t, kl, 1, 1e-8);
  expect_closed_form(Closure::kl_standard, spd(4, 3, 0.1, 4.0), m0, t, kl, 1, 1e-8);
}

// (b) W2: c' = 4(sqrt(c) - c); s = sqrt(c) gives s' = c'/(2s) = 2(1 - s), so
// c(t) = (1 + (sqrt(c0) - 1) e^{-2t})^2; m' = -2m.
TEST(GaussianClosure, W2MatchesClosedForm) {
  const double t = 0.8;
  const auto w2 = [t](double c) { return std::pow(1 + (std::sqrt(c) - 1) * std::exp(-2 * t), 2); };
  expect_closed_form(Closure::w2_squared, MatrixXd::Constant(1, 1, 5.0), VectorXd::Constant(1, 2.0), t, w2, 2, 1e-8);
  expect_closed_form(Closure::w2_squared, spd(3, 5, 0.05, 6.0), VectorXd::Constant(3, -1.0), t, w2, 2, 1e-8);
}

// (c) MMD-poly: c' = 8c(1 - c) is logistic, c(t) = 1 / (1 + (1/c0 - 1) e^{-8t}).
TEST(GaussianClosure, MmdPolyMatchesLogistic) {
  const double t = 0.4;
  const auto logistic = [](double c, double t) { return 1 / (1 + (1 / c - 1) * std::exp(-8 * t)); };
  const auto cov_t = [&](double c) { return logistic(c, t); };
  for (double c0 : {0.1, 3.0})
    expect_closed_form(Closure::mmd_polynomial, MatrixXd::Constant(1, 1, c0), VectorXd::Zero(1), t, cov_t, 0, 1e-8);
  expect_closed_form(Closure::mmd_polynomial, spd(3, 9, 0.1, 2.5), VectorXd::Zero(3), t, cov_t, 0, 1e-8);
  // With a mean (kernel (xy)^2): S = c + m^2 is logistic, and x -> lambda x
  // scaling keeps m^2 / S fixed, so m = m0 sqrt(S / S0) and c = S - m^2.
  const double c0 = 0.3, m0 = 0.6, S0 = c0 + m0 * m0, S = logistic(S0, t), m = m0 * std::sqrt(S / S0);
  const auto path = fs::fields::integrate_closure(Closure::mmd_polynomial, {{m0}, {c0}}, t, 200);
  EXPECT_NEAR(path.back().mean[0], m, 1e-8);
  EXPECT_NEAR(path.back().cov[0], S - m * m, 1e-8);
}

// Fisher: c' = 2(1/c - c); u = c^2 gives u' = 4(1 - u), c(t) = sqrt(1 + (c0^2 - 1) e^{-4t}); m' = -m.
TEST(GaussianClosure, FisherMatchesClosedForm) {
  const double t = 0.5;
  const auto fi = [t](double c) { return std::sqrt(1 + (c * c - 1) * std::exp(-4 * t)); };
  expect_closed_form(Closure::fisher, spd(3, 11, 0.3, 3.0), VectorXd::Constant(3, 1.5), t, fi, 1, 1e-8);
}

// Sliced W2: d = 1 is W2; isotropic C = cI gives V = 2(c^-1/2 - 1)/d, i.e. the
// W2 law slowed by 1/d; m' = -(2/d) m.
TEST(GaussianClosure, SlicedW2ReducesToW2) {
  const double c = 2.7;
  EXPECT_NEAR(fs::fields::closure_rhs(Closure::sliced_w2, {c}, 1)[0], 4 * (std::sqrt(c) - c), 1e-12);
  const double t = 0.6;
  for (long d : {3L, 5L}) {
    const auto law = [t, d](double c) { return std::pow(1 + (std::sqrt(c) - 1) * std::exp(-2 * t / d), 2); };
    expect_closed_form(Closure::sliced_w2, 0.4 * MatrixXd::Identity(d, d), VectorXd::Ones(d), t, law, 2.0 / d, 1e-8);
  }
}

// V(C) against direct quadrature over the circle (d = 2, periodic trapezoid)
// and the sphere (d = 3, z = cos(alpha) uniform on [-1, 1]: Gauss-Legendre in z).
TEST(GaussianClosure, SlicedW2VelocityMatchesSphereQuadrature) {
  const auto integrand = [](const MatrixXd& C, const VectorXd& th) {
    return MatrixXd(2 * (1 / std::sqrt(th.dot(C * th)) - 1) * th * th.transpose());
  };
  const double pi = 4 * std::atan(1.0);
  const int nphi = 2000;
  const MatrixXd C2 = spd(2, 13, 0.05, 20.0);
  MatrixXd V2 = MatrixXd::Zero(2, 2);
  for (int k = 0; k < nphi; ++k) {
    const double p = 2 * pi * k / nphi;
    V2 += integrand(C2, (VectorXd(2) << std::cos(p), std::sin(p)).finished()) / nphi;
  }
  EXPECT_LT((mat(fs::fields::sliced_w2_velocity(flat(C2), 2), 2) - V2).cwiseAbs().maxCoeff(), 1e-11);

  const int nz = 120;  // Legendre nodes by Newton's method on P_n
  std::vector<double> z(nz), w(nz);
  for (int i = 0; i < nz; ++i) {
    double x = std::cos(pi * (i + 0.75) / (nz + 0.5)), dp = 0;
    for (int it = 0; it < 100; ++it) {
      double p0 = 1, p1 = x;
      for (int n = 2; n <= nz; ++n) std::tie(p0, p1) = std::make_pair(p1, ((2 * n - 1) * x * p1 - (n - 1) * p0) / n);
      dp = nz * (x * p1 - p0) / (x * x - 1);
      const double dx = p1 / dp;
      x -= dx;
      if (std::abs(dx) < 1e-16) break;
    }
    z[std::size_t(i)] = x, w[std::size_t(i)] = 2 / ((1 - x * x) * dp * dp);
  }
  const MatrixXd C3 = spd(3, 17, 0.2, 5.0);
  MatrixXd V3 = MatrixXd::Zero(3, 3);
  for (int i = 0; i < nz; ++i)
    for (int k = 0; k < 400; ++k) {
      const double r = std::sqrt(1 - z[std::size_t(i)] * z[std::size_t(i)]), p = 2 * pi * k / 400;
      const VectorXd th = (VectorXd(3) << r * std::cos(p), r * std::sin(p), z[std::size_t(i)]).finished();
      V3 += integrand(C3, th) * w[std::size_t(i)] / (2 * 400);
    }
  EXPECT_LT((mat(fs::fields::sliced_w2_velocity(flat(C3), 3), 3) - V3).cwiseAbs().maxCoeff(), 1e-10);
}

// (e) Particles moved by the KL gradient-flow velocity v(x) = C^-1 (x - m) - x
// (-grad log(rho / gamma) for rho = N(m, C)), with m, C re-estimated from the
// particles at each explicit Euler step, follow the closure's (m, C).
TEST(GaussianClosure, KlClosureMatchesParticles) {
  const long d = 3, n = 200000;
  const MatrixXd C0 = spd(d, 21, 0.5, 2.0);
  const VectorXd m0 = (VectorXd(3) << 1, -0.5, 2).finished();
  const MatrixXd L = C0.llt().matrixL();
  std::mt19937 rng(7);
  std::normal_distribution<double> g;
  MatrixXd X(d, n);
  for (long i = 0; i < n; ++i)
    for (long k = 0; k < d; ++k) X(k, i) = g(rng);
  X = (L * X).colwise() + m0;
  const double t = 0.5, dt = 0.0025;
  for (int step = 0; step < int(std::lround(t / dt)); ++step) {
    const VectorXd m = X.rowwise().mean();
    const MatrixXd Xc = X.colwise() - m;
    const MatrixXd C = Xc * Xc.transpose() / double(n - 1);
    X += dt * (C.llt().solve(Xc) - X);
  }
  const VectorXd m = X.rowwise().mean();
  const MatrixXd Xc = X.colwise() - m;
  const MatrixXd C = Xc * Xc.transpose() / double(n - 1);
  const auto path = fs::fields::integrate_closure(Closure::kl_standard, {flat(m0), flat(C0)}, t, 100);
  const MatrixXd Cref = mat(path.back().cov, d);
  EXPECT_LT((C - Cref).norm() / Cref.norm(), 0.02);
  EXPECT_LT((m - m0 * std::exp(-t)).norm() / m0.norm(), 0.02);
}

// (d) Bures geodesic: exact endpoints, constant speed in W2, commuting closed form.
TEST(GaussianClosure, BuresGeodesic) {
  const long d = 3;
  const VectorXd ma = (VectorXd(3) << 0, 1, -1).finished(), mb = (VectorXd(3) << 2, -1, 0.5).finished();
  const MatrixXd Ca = spd(d, 31, 0.2, 3.0), Cb = spd(d, 37, 0.5, 6.0);
  const GaussianState a{flat(ma), flat(Ca)}, b{flat(mb), flat(Cb)};
  EXPECT_EQ(fs::fields::bures_geodesic(a, b, 0).cov, a.cov);
  EXPECT_EQ(fs::fields::bures_geodesic(a, b, 1).cov, b.cov);
  EXPECT_LT((mat(fs::fields::bures_geodesic(a, b, 1 - 1e-12).cov, d) - Cb).cwiseAbs().maxCoeff(), 1e-9);
  const double w = bures_w2(ma, Ca, mb, Cb);
  for (double s : {0.25, 0.5, 0.8}) {
    const GaussianState gs = fs::fields::bures_geodesic(a, b, s);
    const MatrixXd Cs = mat(gs.cov, d);
    EXPECT_NEAR(bures_w2(ma, Ca, vec(gs.mean), Cs), s * w, 1e-9) << s;
    EXPECT_NEAR(bures_w2(vec(gs.mean), Cs, mb, Cb), (1 - s) * w, 1e-9) << s;
    // The reversed geodesic passes through the same point.
    EXPECT_LT((mat(fs::fields::bures_geodesic(b, a, 1 - s).cov, d) - Cs).cwiseAbs().maxCoeff(), 1e-10);
  }
  // Commuting covariances: C_s = ((1 - s) Ca^1/2 + s Cb^1/2)^2.
  const MatrixXd Q = Eigen::SelfAdjointEigenSolver<MatrixXd>(spd(d, 41, 0.5, 2.0)).eigenvectors();
  const VectorXd la = VectorXd::LinSpaced(d, 0.1, 2.0), lb = VectorXd::LinSpaced(d, 4.0, 0.3);
  const MatrixXd Da = Q * la.asDiagonal() * Q.transpose(), Db = Q * lb.asDiagonal() * Q.transpose();
  const double s = 0.3;
  const VectorXd ls = ((1 - s) * la.cwiseSqrt() + s * lb.cwiseSqrt()).array().square();
  const auto gs = fs::fields::bures_geodesic({flat(ma), flat(Da)}, {flat(mb), flat(Db)}, s);
  EXPECT_LT((mat(gs.cov, d) - Q * ls.asDiagonal() * Q.transpose()).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_LT((vec(gs.mean) - (0.7 * ma + 0.3 * mb)).cwiseAbs().maxCoeff(), 1e-15);
}

// (f) Bad input names the argument.
TEST(GaussianClosure, BadInputThrows) {
  const auto throws_with = [](const std::function<void()>& f, const std::string& needle) {
    try {
      f();
    } catch (const fs::Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      return;
    }
    ADD_FAILURE() << "no flowsampler::Error for " << needle;
  };
  using fs::fields::bures_geodesic;
  using fs::fields::closure_rhs;
  using fs::fields::integrate_closure;
  throws_with([] { closure_rhs(Closure::kl_standard, {1, 0, 0}, 2); }, "4 entries");
  throws_with([] { closure_rhs(Closure::kl_standard, {1, 0.5, 0, 1}, 2); }, "symmetric");
  throws_with([] { closure_rhs(Closure::w2_squared, {1, 0, 0, -1}, 2); }, "positive definite");
  throws_with([] { closure_rhs(Closure::fisher, {1, 1, 1, 1}, 2); }, "positive definite");
  throws_with([] { closure_rhs(Closure::kl_standard, {NAN}, 1); }, "finite");
  throws_with([] { fs::fields::closure_mean_rhs(Closure::kl_standard, {1, 2}, {1}); }, "closure_mean_rhs: C");
  throws_with([] { integrate_closure(Closure::kl_standard, {{0}, {1}}, 1, 0); }, "steps");
  throws_with([] { integrate_closure(Closure::kl_standard, {{0}, {1}}, -1, 10); }, "t_end");
  throws_with([] { integrate_closure(Closure::kl_standard, {{0}, {-1}}, 1, 10); }, "start.cov");
  throws_with([] { integrate_closure(Closure::kl_standard, {{0, 0}, {1}}, 1, 10); }, "start.cov");
  // RK4 with a far too large step overshoots the logistic into negative C ...
  throws_with([] { integrate_closure(Closure::mmd_polynomial, {{0}, {5}}, 1, 1); }, "step 1 of 1");
  throws_with([] { integrate_closure(Closure::mmd_polynomial, {{0}, {5}}, 1, 1); }, "smallest eigenvalue");
  // ... and a W2 stage needs C^1/2 of a non-PD stage.
  throws_with([] { integrate_closure(Closure::w2_squared, {{0}, {9}}, 1, 1); }, "step 1");
  const GaussianState a{{0, 0}, {1, 0, 0, 1}}, b{{1, 1}, {2, 0, 0, 2}};
  throws_with([&] { bures_geodesic(a, b, 1.5); }, "s must be in [0, 1]");
  throws_with([&] { bures_geodesic(a, b, NAN); }, "s must be in [0, 1]");
  throws_with([&] { bures_geodesic({{0, 0}, {1, 1, 1, 1}}, b, 0.5); }, "a.cov: must be positive definite");
  throws_with([&] { bures_geodesic(a, {{1, 1}, {2, 1, 0, 2}}, 0.5); }, "b.cov: must be symmetric");
  throws_with([&] { bures_geodesic(a, {{1}, {2}}, 0.5); }, "b.mean");
  throws_with([&] { bures_geodesic(a, {{1, 1}, {2}}, 0.5); }, "b.cov");
}
