// Exact GMM fields against a dense reference, finite differences and the
// closed-form flow maps of Gaussian targets.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <random>

#include "fields/gmm_reference.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/fields/gmm_field.hpp"
#include "typed.hpp"

#include "matrix_util.hpp"

namespace fs = flowsampler;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

using flowsampler::test::flat;

MatrixXd spd(long d, unsigned seed, double lo, double hi) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g;
  MatrixXd A(d, d);
  for (long i = 0; i < d; ++i)
    for (long j = 0; j < d; ++j) A(i, j) = g(rng);
  Eigen::HouseholderQR<MatrixXd> qr(A);
  const MatrixXd Q = qr.householderQ();
  VectorXd l(d);
  for (long i = 0; i < d; ++i) l(i) = lo + (hi - lo) * double(i) / double(std::max<long>(1, d - 1));
  return Q * l.asDiagonal() * Q.transpose();
}

MatrixXd sqrtm(const MatrixXd& S) {
  Eigen::SelfAdjointEigenSolver<MatrixXd> e(S);
  return e.eigenvectors() * e.eigenvalues().cwiseSqrt().asDiagonal() * e.eigenvectors().transpose();
}

// A 3-component mixture in d = 3 with one isotropic, one diagonal and one full covariance.
struct Mixed {
  fs::targets::GaussianMixture g{3};
  fs::test::DenseGmm ref;
  explicit Mixed(const MatrixXd& noise) {
    ref.noise = noise;
    const MatrixXd full = spd(3, 7, 0.3, 2.0);
    const std::vector<std::pair<VectorXd, MatrixXd>> comps = {
        {VectorXd::Constant(3, -1.0), 0.5 * MatrixXd::Identity(3, 3)},
        {(VectorXd(3) << 2, 0.5, -1).finished(), VectorXd(VectorXd::LinSpaced(3, 0.2, 1.5)).asDiagonal()},
        {(VectorXd(3) << 0, 2, 1).finished(), full}};
    const double w[3] = {0.2, 0.5, 0.3};
    g.add(w[0], {-1, -1, -1}, {0.5});
    g.add(w[1], {2, 0.5, -1}, {0.2, 0.85, 1.5});
    g.add(w[2], {0, 2, 1}, flat(full));
    for (int k = 0; k < 3; ++k) ref.w.push_back(w[k]), ref.m.push_back(comps[k].first), ref.S.push_back(comps[k].second);
  }
};

std::vector<std::string> all_paths() { return {"linear", "follmer", "vp", "cosine", "ve", "overshoot"}; }

fs::ParticleSet<double> points(const fs::Context& ctx, std::size_t n, std::size_t d, unsigned seed, double scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g(0, scale);
  std::vector<double> v(n * d);
  for (auto& e : v) e = g(rng);
  return fs::ParticleSet<double>::from_column_major(ctx, v.data(), n, d);
}

}  // namespace

// log p_t, denoiser and velocity against the dense reference, for every path,
// several t, isotropic / anisotropic non-commuting noise, and all covariance kinds.
TEST(GmmField, MatchesDenseReferenceOnEveryPath) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const MatrixXd noises[] = {MatrixXd::Identity(3, 3), 2.5 * MatrixXd::Identity(3, 3), spd(3, 11, 0.5, 3.0)};
  for (const MatrixXd& noise : noises) {
    Mixed mix(noise);
    const bool iso = (noise - noise(0, 0) * MatrixXd::Identity(3, 3)).norm() == 0;
    const fs::fields::GmmField field(mix.g, iso ? fs::targets::Noise::isotropic(noise(0, 0))
                                                : fs::targets::Noise::full(flat(noise), 3));
    const auto z = points(ctx, 50, 3, 3, 2.0);
    for (const auto& name : all_paths()) {
      const fs::paths::Path path = fs::paths::make_path(name, {3.0, 0.05, 10.0});
      for (double t : {0.0, 0.1, 0.5, 0.9, 1.0}) {
        const fs::paths::PathPoint p = path.at(t);
        if (!std::isfinite(p.db)) continue;  // follmer/vp at t = 1: b' infinite, only b b' matters
        fs::fields::FieldRequest req;
        req.log_density = req.denoiser = req.velocity = true;
        const auto f = field.evaluate(ctx, p, z, req);
        for (std::size_t i = 0; i < z.n(); ++i) {
          VectorXd zi(3);
          for (int j = 0; j < 3; ++j) zi(j) = z.at(i, j);
          const auto r = fs::test::dense_fields(mix.ref, p.a, p.b, p.da, p.db, zi);
          ASSERT_NEAR(f.log_density.at(i, 0), r.log_density, 1e-9 * (1 + std::fabs(r.log_density)))
              << name << " t=" << t << " i=" << i;
          for (int j = 0; j < 3; ++j) {
            ASSERT_NEAR(f.denoiser.at(i, j), r.denoiser(j), 1e-9 * (1 + r.denoiser.norm())) << name << " t=" << t;
            ASSERT_NEAR(f.velocity.at(i, j), r.velocity(j), 1e-8 * (1 + r.velocity.norm())) << name << " t=" << t;
          }
        }
      }
    }
  }
}

// Score = grad log p_t and div v by central finite differences of our own log p_t and v.
TEST(GmmField, ScoreAndDivergenceMatchFiniteDifferences) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  Mixed mix(spd(3, 5, 0.7, 1.8));
  const fs::fields::GmmField field(mix.g, fs::targets::Noise::full(flat(mix.ref.noise), 3));
  const auto z = points(ctx, 20, 3, 9, 1.5);
  const double h = 1e-5;
  for (const auto& name : all_paths()) {
    const fs::paths::Path path = fs::paths::make_path(name, {2.0, 0.05, 10.0});
    for (double t : {0.05, 0.3, 0.6, 0.95}) {
      const auto p = path.at(t);
      fs::fields::FieldRequest req;
      req.log_density = req.score = req.velocity = req.divergence = true;
      const auto f = field.evaluate(ctx, p, z, req);
      for (std::size_t i = 0; i < z.n(); ++i) {
        double div_fd = 0;
        for (int j = 0; j < 3; ++j) {
          std::vector<double> plus(3), minus(3);
          for (int c = 0; c < 3; ++c) plus[c] = minus[c] = z.at(i, c);
          plus[j] += h, minus[j] -= h;
          const auto P = fs::ParticleSet<double>::from_column_major(ctx, plus.data(), 1, 3);
          const auto M = fs::ParticleSet<double>::from_column_major(ctx, minus.data(), 1, 3);
          const auto fp = field.evaluate(ctx, p, P, req), fm = field.evaluate(ctx, p, M, req);
          const double ds = (fp.log_density.at(0, 0) - fm.log_density.at(0, 0)) / (2 * h);
          ASSERT_NEAR(f.score.at(i, j), ds, 1e-6 * (1 + std::fabs(ds))) << name << " t=" << t << " i=" << i << " j=" << j;
          div_fd += (fp.velocity.at(0, j) - fm.velocity.at(0, j)) / (2 * h);
        }
        ASSERT_NEAR(f.divergence.at(i, 0), div_fd, 1e-5 * (1 + std::fabs(div_fd))) << name << " t=" << t << " i=" << i;
      }
    }
  }
}

// Integrates dz/dt = v(t, z) with RK4 (a tight stepper written here) from t0 to 1.
template <class Real>
fs::ParticleSet<Real> flow(const fs::Context& ctx, const fs::fields::GmmField& f, const fs::paths::Path& path,
                           fs::ParticleSet<Real> z, double t0, int steps) {
  const double h = (1.0 - t0) / steps;
  const std::size_t n = z.size();
  auto axpy = [&](const fs::ParticleSet<Real>& base, const fs::ParticleSet<Real>& k, double c) {
    fs::ParticleSet<Real> out = base.copy(ctx);
    for (std::size_t e = 0; e < n; ++e) out.data()[e] += Real(c) * k.data()[e];
    return out;
  };
  for (int s = 0; s < steps; ++s) {
    const double t = t0 + s * h;
    const auto k1 = f.velocity(ctx, path.at(t), z);
    const auto k2 = f.velocity(ctx, path.at(t + h / 2), axpy(z, k1, h / 2));
    const auto k3 = f.velocity(ctx, path.at(t + h / 2), axpy(z, k2, h / 2));
    const auto k4 = f.velocity(ctx, path.at(std::min(1.0, t + h)), axpy(z, k3, h));
    for (std::size_t e = 0; e < n; ++e)
      z.data()[e] += Real(h / 6) * (k1.data()[e] + 2 * k2.data()[e] + 2 * k3.data()[e] + k4.data()[e]);
  }
  return z;
}

// Gaussian target, isotropic noise: the flow map from t = 0 to 1 of every
// path is affine, z -> a1 m + C1^1/2 C0^-1/2 (z - a0 m) (C_t = a^2 S + b^2 I
// commute), i.e. m + S^1/2 z when the path starts at pure noise.
TEST(GmmField, GaussianFlowMapsAreTheClosedFormAffineMaps) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const MatrixXd S = spd(2, 3, 0.4, 2.5);
  const VectorXd m = (VectorXd(2) << 1.0, -2.0).finished();
  fs::targets::GaussianMixture g(2);
  g.add(1.0, {m(0), m(1)}, flat(S));
  const fs::fields::GmmField field(g);
  const auto z0 = points(ctx, 16, 2, 4, 1.0);
  for (const auto& name : all_paths()) {
    const fs::paths::Path path = fs::paths::make_path(name, {3.0, 0.02, 5.0});
    const auto p0 = path.at(0.0), p1 = path.at(1.0);
    const MatrixXd C0 = p0.a * p0.a * S + p0.b * p0.b * MatrixXd::Identity(2, 2);
    const MatrixXd C1 = p1.a * p1.a * S + p1.b * p1.b * MatrixXd::Identity(2, 2);
    const MatrixXd T = sqrtm(C1) * sqrtm(C0).inverse();
    const auto z1 = flow(ctx, field, path, z0.copy(ctx), 0.0, name == "follmer" ? 4000 : 400);
    const double tol = name == "follmer" ? 2e-4 : 1e-6;  // follmer: v has a sqrt(1 - t) kink at t = 1
    for (std::size_t i = 0; i < z0.n(); ++i) {
      const VectorXd x = (VectorXd(2) << z0.at(i, 0), z0.at(i, 1)).finished();
      const VectorXd want = p1.a * m + T * (x - p0.a * m);
      for (int j = 0; j < 2; ++j) EXPECT_NEAR(z1.at(i, j), want(j), tol) << name << " i=" << i;
    }
  }
}

// Anisotropic noise Sigma_0 not commuting with S: the linear-path map is
// m + Sigma_0^1/2 C^1/2 Sigma_0^-1/2 x with C = Sigma_0^-1/2 S Sigma_0^-1/2,
// which is not the Brenier (optimal transport) map between the two Gaussians.
TEST(GmmField, AnisotropicNoiseLinearMapIsNotBrenier) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  MatrixXd S(2, 2), N(2, 2);
  S << 2.0, 0.0, 0.0, 0.5;
  N << 1.0, 0.6, 0.6, 1.0;
  const VectorXd m = (VectorXd(2) << 0.5, 1.0).finished();
  fs::targets::GaussianMixture g(2);
  g.add(1.0, {m(0), m(1)}, flat(S));
  const fs::fields::GmmField field(g, fs::targets::Noise::full(flat(N), 2));
  const MatrixXd Nh = sqrtm(N), Nih = Nh.inverse();
  const MatrixXd map = Nh * sqrtm(Nih * S * Nih) * Nih;
  const MatrixXd brenier = Nih * sqrtm(Nh * S * Nh) * Nih;
  ASSERT_GT((map - brenier).norm(), 0.05);
  const auto z0 = points(ctx, 10, 2, 8, 1.0);
  const auto z1 = flow(ctx, field, fs::paths::make_path("linear"), z0.copy(ctx), 0.0, 400);
  double off_brenier = 0;
  for (std::size_t i = 0; i < z0.n(); ++i) {
    const VectorXd x = (VectorXd(2) << z0.at(i, 0), z0.at(i, 1)).finished();
    const VectorXd want = m + map * x, ot = m + brenier * x;
    for (int j = 0; j < 2; ++j) EXPECT_NEAR(z1.at(i, j), want(j), 1e-6);
    off_brenier = std::max(off_brenier, (want - ot).norm());
  }
  EXPECT_GT(off_brenier, 1e-2);
}

// Far particles, tiny and huge variances, K = 4096: finite and right.
TEST(GmmField, StableForFarParticlesExtremeVariancesAndManyComponents) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  fs::targets::GaussianMixture g(2);
  fs::test::DenseGmm ref;
  ref.noise = MatrixXd::Identity(2, 2);
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> u(-5, 5);
  for (int k = 0; k < 4096; ++k) {
    const double var = k % 3 == 0 ? 1e-6 : (k % 3 == 1 ? 1e6 : 1.0);
    const double mx = u(rng), my = u(rng);
    g.add(1.0 + k % 5, {mx, my}, {var});
    ref.w.push_back((1.0 + k % 5)), ref.m.push_back((VectorXd(2) << mx, my).finished()),
        ref.S.push_back(var * MatrixXd::Identity(2, 2));
  }
  double total = 0;
  for (double w : ref.w) total += w;
  for (double& w : ref.w) w /= total;
  const fs::fields::GmmField field(g);
  std::vector<double> zs = {1e3, -1e3, 0.1, 0.2, -2, 3e2, 0, 0};
  const auto z = fs::ParticleSet<double>::from_row_major(ctx, zs.data(), 4, 2);
  for (double t : {0.2, 0.99, 1.0}) {
    const auto p = fs::paths::make_path("linear").at(t);
    fs::fields::FieldRequest req;
    req.log_density = req.velocity = req.divergence = req.score = req.denoiser = true;
    const auto f = field.evaluate(ctx, p, z, req);
    for (std::size_t i = 0; i < 4; ++i) {
      ASSERT_TRUE(std::isfinite(f.log_density.at(i, 0)) && std::isfinite(f.divergence.at(i, 0))) << "t=" << t;
      const VectorXd zi = (VectorXd(2) << z.at(i, 0), z.at(i, 1)).finished();
      const auto r = fs::test::dense_fields(ref, p.a, p.b, p.da, p.db, zi);
      EXPECT_NEAR(f.log_density.at(i, 0), r.log_density, 1e-9 * std::fabs(r.log_density) + 1e-9);
      for (int j = 0; j < 2; ++j) {
        ASSERT_TRUE(std::isfinite(f.velocity.at(i, j)) && std::isfinite(f.score.at(i, j)));
        EXPECT_NEAR(f.velocity.at(i, j), r.velocity(j), 1e-7 * (1 + r.velocity.norm())) << "t=" << t << " i=" << i;
      }
    }
  }
}

TEST(GmmField, FloatAgreesWithDouble) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  Mixed mix(MatrixXd::Identity(3, 3));
  const fs::fields::GmmField field(mix.g);
  const auto zd = points(ctx, 200, 3, 2, 2.0);
  const std::vector<double> h = zd.to_host();
  const std::vector<float> hf(h.begin(), h.end());
  const auto zf = fs::ParticleSet<float>::from_column_major(ctx, hf.data(), 200, 3);
  const auto p = fs::paths::make_path("cosine").at(0.7);
  const auto vd = field.velocity(ctx, p, zd).to_host();
  const auto vf = field.velocity(ctx, p, zf).to_host();
  for (std::size_t e = 0; e < vd.size(); ++e) ASSERT_NEAR(vf[e], vd[e], 2e-4 * (1 + std::fabs(vd[e])));
}

TEST(GmmField, EmpiricalTargetsNeedEarlyStopping) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const std::vector<double> atoms = {0, 0, 1, 2, -1, 0.5};
  const auto g = fs::targets::GaussianMixture::empirical(atoms, 3, 2);
  const fs::fields::GmmField field(g);
  const auto z = points(ctx, 5, 2, 1, 1.0);
  const auto path = fs::paths::make_path("linear");
  EXPECT_THROW(field.velocity(ctx, path.at(1.0), z), fs::Error);
  fs::test::DenseGmm ref;
  ref.noise = MatrixXd::Identity(2, 2);
  for (int k = 0; k < 3; ++k)
    ref.w.push_back(1.0 / 3), ref.m.push_back((VectorXd(2) << atoms[2 * k], atoms[2 * k + 1]).finished()),
        ref.S.push_back(MatrixXd::Zero(2, 2));
  const auto p = path.at(0.95);
  const auto v = field.velocity(ctx, p, z);
  for (std::size_t i = 0; i < 5; ++i) {
    const VectorXd zi = (VectorXd(2) << z.at(i, 0), z.at(i, 1)).finished();
    const auto r = fs::test::dense_fields(ref, p.a, p.b, p.da, p.db, zi);
    for (int j = 0; j < 2; ++j) EXPECT_NEAR(v.at(i, j), r.velocity(j), 1e-8 * (1 + r.velocity.norm()));
  }
}

TEST(GaussianMixture, RejectsBadComponentsNamingThem) {
  fs::targets::GaussianMixture g(2);
  auto msg = [&](auto f) {
    try {
      f();
    } catch (const fs::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(msg([&] { g.add(-1, {0, 0}, {1}); }).find("component 0: weight"), std::string::npos);
  EXPECT_NE(msg([&] { g.add(1, {0}, {1}); }).find("mean has 1"), std::string::npos);
  EXPECT_NE(msg([&] { g.add(1, {0, 0}, {1, 0.5, 0.4, 1}); }).find("not symmetric"), std::string::npos);
  EXPECT_NE(msg([&] { g.add(1, {0, 0}, {1, 2, 2, 1}); }).find("not positive definite"), std::string::npos);
  EXPECT_NE(msg([&] { g.add(1, {0, 0}, {1, -2}); }).find("diagonal entry 1"), std::string::npos);
  EXPECT_NE(msg([&] { g.add(1, {0, 0}, {0}); }).find("isotropic variance"), std::string::npos);
  EXPECT_NE(msg([&] { g.add(1, {0, 0}, {1, 2, 3}); }).find("expected 1 (isotropic), 2 (diagonal) or 4"), std::string::npos);
  fs::targets::GaussianMixture zero(2);
  zero.add(0, {0, 0}, {1});
  EXPECT_THROW(zero.weights(), fs::Error);
  EXPECT_THROW(fs::paths::make_path("brownian"), fs::Error);
}

TEST(GaussianMixture, SamplesHaveTheMixtureMoments) {
  fs::Context ctx = fs::Context::create(fs::Backend::cpu, 3, 2);
  fs::targets::GaussianMixture g(2);
  g.add(1, {-2, 0}, {0.5});
  g.add(3, {2, 1}, {1.0, 0.3, 0.3, 0.5});
  const std::size_t n = 200000;
  const auto x = g.sample<double>(ctx, n);
  double mx = 0, my = 0, cxy = 0;
  for (std::size_t i = 0; i < n; ++i) mx += x.at(i, 0), my += x.at(i, 1);
  mx /= n, my /= n;
  for (std::size_t i = 0; i < n; ++i) cxy += (x.at(i, 0) - mx) * (x.at(i, 1) - my);
  cxy /= n;
  // mean = 0.25 (-2, 0) + 0.75 (2, 1); cov_xy = 0.75 * 0.3 + mixture term 0.25*0.75*(4)(1)
  EXPECT_NEAR(mx, 1.0, 0.02);
  EXPECT_NEAR(my, 0.75, 0.01);
  EXPECT_NEAR(cxy, 0.75 * 0.3 + 0.25 * 0.75 * 4 * 1, 0.03);
}

// The noised law built directly (covariances a^2 S + b^2 Sigma_n) has the
// density the field computes through whitening and eigenbases.
TEST(GaussianMixture, NoisedLawDensityEqualsTheFieldDensity) {
  fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  Mixed mix(spd(3, 21, 0.4, 2.0));
  const auto noise = fs::targets::Noise::full(flat(mix.ref.noise), 3);
  const fs::fields::GmmField field(mix.g, noise);
  const auto vp = fs::paths::make_path("vp", {2.0, 0.01, 1.0});
  const auto p0 = vp.at(0.0);
  const auto q = fs::targets::noised(mix.g, noise, p0.a, p0.b);
  const fs::fields::GmmField direct(q);
  const auto z = points(ctx, 30, 3, 5, 1.5);
  fs::fields::FieldRequest req;
  req.log_density = true;
  const auto a = field.evaluate(ctx, p0, z, req).log_density;
  const auto b = direct.evaluate(ctx, fs::paths::PathPoint{1, 0, 0, 0, 0}, z, req).log_density;
  for (std::size_t i = 0; i < z.n(); ++i) EXPECT_NEAR(a.at(i, 0), b.at(i, 0), 1e-10 * (1 + std::fabs(b.at(i, 0))));
  // Exact initial draws have the noised law's mean; standard draws have mean 0.
  const auto exact = fs::targets::sample_initial<double>(ctx, mix.g, noise, p0.a, p0.b, 100000, true);
  const auto plain = fs::targets::sample_initial<double>(ctx, mix.g, noise, p0.a, p0.b, 100000, false);
  double me = 0, mp = 0, want = 0;
  for (std::size_t i = 0; i < exact.n(); ++i) me += exact.at(i, 1), mp += plain.at(i, 1);
  for (int k = 0; k < 3; ++k) want += mix.ref.w[k] * p0.a * mix.ref.m[k](1);
  EXPECT_NEAR(me / exact.n(), want, 0.02);
  EXPECT_NEAR(mp / plain.n(), 0.0, 0.02);
}

// A user path given by a functor behaves as the built-in one it copies; its
// b b' is filled in from b and b'. Points outside the domain are errors.
TEST(Paths, UserPathsAndDomainChecks) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const fs::paths::Path mine("my-linear", [](double t) { return fs::paths::PathPoint{t, 1 - t, 1, -1}; });
  const auto builtin = fs::paths::make_path("linear");
  EXPECT_DOUBLE_EQ(mine.at(0.3).b_db, builtin.at(0.3).b_db);
  Mixed mix(MatrixXd::Identity(3, 3));
  const fs::fields::GmmField field(mix.g);
  const auto z = points(ctx, 10, 3, 6, 1.0);
  const auto v1 = field.velocity(ctx, mine.at(0.6), z).to_host(), v2 = field.velocity(ctx, builtin.at(0.6), z).to_host();
  EXPECT_EQ(v1, v2);
  EXPECT_THROW(builtin.at(1.5), fs::Error);
  EXPECT_THROW(builtin.at(-0.1), fs::Error);
  EXPECT_TRUE(builtin.reaches_data_end());
  EXPECT_FALSE(fs::paths::make_path("ve").reaches_data_end());
  EXPECT_THROW(fs::paths::make_path("vp", {-1.0}), fs::Error);
  EXPECT_THROW(fs::paths::make_path("ve", {1.0, 5.0, 1.0}), fs::Error);
}

// Diagonal noise beyond the full-covariance kernels' d: a diagonal target
// stays diagonal after whitening. Score per coordinate of N(a m, a^2 s_i + b^2 n_i).
TEST(GmmField, DiagonalNoiseInHighDimension) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const std::size_t d = 100;
  std::vector<double> s(d), n(d), m(d);
  for (std::size_t i = 0; i < d; ++i) s[i] = 0.5 + 0.01 * double(i), n[i] = 1.0 / double(i + 1), m[i] = std::sin(double(i));
  fs::targets::GaussianMixture g(d);
  g.add(1.0, m, s);
  const fs::fields::GmmField field(g, fs::targets::Noise::diagonal(n));
  const auto z = points(ctx, 7, d, 3, 1.0);
  const fs::paths::PathPoint p{0.6, 0.8, 1, -0.75, -0.6};
  fs::fields::FieldRequest req;
  req.score = true;
  const auto sc = field.evaluate(ctx, p, z, req).score;
  for (std::size_t i = 0; i < z.n(); ++i)
    for (std::size_t c = 0; c < d; ++c) {
      const double want = -(z.at(i, c) - p.a * m[c]) / (p.a * p.a * s[c] + p.b * p.b * n[c]);
      EXPECT_NEAR(sc.at(i, c), want, 1e-9 * (1 + std::fabs(want)));
    }
}
