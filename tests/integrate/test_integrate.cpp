// Fixed-step integrators: observed order of convergence against the exact
// flow map of a Gaussian target (linear path: z -> m + S^1/2 z).
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <cstdio>
#include <random>

#include "flowsampler/integrate/gmm_flow.hpp"
#include "flowsampler/fields/gmm_field.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/integrate/integrate.hpp"

namespace fs = flowsampler;
namespace fi = flowsampler::integrate;

namespace {

struct GaussianCase {
  fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  Eigen::Matrix2d S;
  Eigen::Vector2d m{0.5, -1.0};
  fs::targets::GaussianMixture g{2};
  std::vector<double> z0;
  GaussianCase() {
    S << 1.5, 0.4, 0.4, 0.6;
    g.add(1.0, {m(0), m(1)}, {S(0, 0), S(0, 1), S(1, 0), S(1, 1)});
    std::mt19937 rng(3);
    std::normal_distribution<double> n01;
    for (int e = 0; e < 2 * 20; ++e) z0.push_back(n01(rng));  // column-major 20 x 2
  }
  // (On the linear path the ddim step equals the Euler step: both give
  // z (1 - t1) / (1 - t0) + D (t1 - t0) / (1 - t0).)
  // Max error of the integrated map from t0 to t1 against m t + C_t^1/2 z0 (linear path).
  double error(fi::Method method, int steps, double t1) const {
    const fs::fields::GmmField field(g);
    const auto path = fs::paths::make_path("linear");
    auto z = fs::ParticleSet<double>::from_column_major(ctx, z0.data(), 20, 2);
    fi::integrate(ctx, field, path, z, fi::uniform_grid(0.0, t1, steps), method);
    Eigen::SelfAdjointEigenSolver<Eigen::Matrix2d> e(t1 * t1 * S + (1 - t1) * (1 - t1) * Eigen::Matrix2d::Identity());
    const Eigen::Matrix2d C = e.eigenvectors() * e.eigenvalues().cwiseSqrt().asDiagonal() * e.eigenvectors().transpose();
    double worst = 0;
    for (int i = 0; i < 20; ++i) {
      const Eigen::Vector2d want = t1 * m + C * Eigen::Vector2d(z0[i], z0[20 + i]);
      worst = std::max(worst, std::hypot(z.at(i, 0) - want(0), z.at(i, 1) - want(1)));
    }
    return worst;
  }
};

}  // namespace

TEST(Integrate, ObservedOrdersOfConvergence) {
  const GaussianCase s;
  struct Expect {
    fi::Method m;
    double order;
    int k = 16;  // steps of the coarser run (dpmpp2m is pre-asymptotic at 16)
  };
  for (const Expect& x : {Expect{fi::Method::euler, 1}, Expect{fi::Method::heun, 2}, Expect{fi::Method::midpoint, 2},
                          Expect{fi::Method::rk4, 4}, Expect{fi::Method::ddim, 1},
                          Expect{fi::Method::dpmpp2m, 2, 256}}) {
    const double e1 = s.error(x.m, x.k, 0.9), e2 = s.error(x.m, 2 * x.k, 0.9);
    const double order = std::log2(e1 / e2);
    EXPECT_GT(order, x.order - 0.3) << fi::to_string(x.m) << " errors " << e1 << " " << e2;
    std::printf("%s: errors %.3g %.3g, order %.2f\n", fi::to_string(x.m).c_str(), e1, e2, order);
    EXPECT_LT(e2, x.order >= 4 ? 1e-6 : (x.order >= 2 ? 1e-3 : 0.1)) << fi::to_string(x.m);
  }
}

TEST(Integrate, CountsEvaluationsAndValidatesGrids) {
  const GaussianCase s;
  const fs::fields::GmmField field(s.g);
  const auto path = fs::paths::make_path("linear");
  auto z = fs::ParticleSet<double>::from_column_major(s.ctx, s.z0.data(), 20, 2);
  int calls = 0;
  fi::Options<double> opts;
  opts.on_step = [&](int, double, const fs::ParticleSet<double>&) { ++calls; };
  const auto r = fi::integrate<double>(s.ctx, field, path, z, fi::uniform_grid(0.0, 0.5, 5), fi::Method::rk4, opts);
  EXPECT_EQ(r.nfe, 20);
  EXPECT_EQ(r.steps, 5);
  EXPECT_EQ(calls, 5);
  EXPECT_THROW(fi::integrate(s.ctx, field, path, z, {0.0, 0.5, 0.4}, fi::Method::euler), fs::Error);
  EXPECT_THROW(fi::integrate(s.ctx, field, path, z, {0.0, 1.2}, fi::Method::euler), fs::Error);
  EXPECT_THROW(fi::integrate(s.ctx, field, path, z, {0.3}, fi::Method::euler), fs::Error);
  EXPECT_THROW(fi::uniform_grid(0, 1, 0), fs::Error);
  EXPECT_THROW(fi::parse_method("rk45"), fs::Error);
  // Backwards (encoding) then forwards returns to the start with rk4.
  auto w = fs::ParticleSet<double>::from_column_major(s.ctx, s.z0.data(), 20, 2);
  fi::integrate(s.ctx, field, path, w, fi::uniform_grid(0.2, 0.8, 40), fi::Method::rk4);
  fi::integrate(s.ctx, field, path, w, fi::uniform_grid(0.8, 0.2, 40), fi::Method::rk4);
  for (int e = 0; e < 40; ++e) EXPECT_NEAR(w.data()[e], s.z0[e], 1e-7);
}

// Schedules: interior points equally spaced in their variable, ends kept,
// monotone, and non-monotone paths refused.
TEST(Integrate, LogSnrAndKarrasGrids) {
  const auto path = fs::paths::make_path("cosine");
  const auto lam = [&](double t) {
    const auto p = path.at(t);
    return 2 * std::log(p.a / p.b);
  };
  const auto g = fi::logsnr_grid(path, 0.0, 1.0, 10);
  ASSERT_EQ(g.size(), 11u);
  EXPECT_EQ(g.front(), 0.0);
  EXPECT_EQ(g.back(), 1.0);
  for (std::size_t k = 2; k + 1 < g.size(); ++k)
    EXPECT_NEAR(lam(g[k]) - lam(g[k - 1]), lam(g[2]) - lam(g[1]), 1e-9) << k;
  const auto kg = fi::karras_grid(path, 0.05, 0.95, 8);
  const auto sig = [&](double t) {
    const auto p = path.at(t);
    return std::pow(p.b / p.a, 1 / 7.0);
  };
  for (std::size_t k = 1; k < kg.size(); ++k) {
    EXPECT_GT(kg[k], kg[k - 1]);
    EXPECT_NEAR(sig(kg[k]) - sig(kg[k - 1]), (sig(0.95) - sig(0.05)) / 8, 1e-9);
  }
  EXPECT_THROW(fi::logsnr_grid(fs::paths::make_path("overshoot"), 0.0, 1.0, 10), fs::Error);
  EXPECT_THROW(fi::make_grid("cosine", path, 0.0, 1.0, 4), fs::Error);
  // An rk4 run on a karras grid still reaches the exact map.
  const GaussianCase s;
  const fs::fields::GmmField field(s.g);
  auto z = fs::ParticleSet<double>::from_column_major(s.ctx, s.z0.data(), 20, 2);
  fi::integrate(s.ctx, field, fs::paths::make_path("linear"), z, fi::karras_grid(fs::paths::make_path("linear"), 0.0, 0.9, 64),
                fi::Method::rk4);
  auto ref = fs::ParticleSet<double>::from_column_major(s.ctx, s.z0.data(), 20, 2);
  fi::integrate(s.ctx, field, fs::paths::make_path("linear"), ref, fi::uniform_grid(0.0, 0.9, 200), fi::Method::rk4);
  for (int e = 0; e < 40; ++e) EXPECT_NEAR(z.data()[e], ref.data()[e], 1e-4);
}

// The integrated log-likelihood of a Gaussian target's exact flow equals the
// closed-form log-density of N(t m, t^2 S + (1 - t)^2 I) at the end point.
TEST(Integrate, LogLikelihoodByTheExactDivergence) {
  const GaussianCase s;
  const fs::fields::GmmField field(s.g);
  const auto path = fs::paths::make_path("linear");
  for (auto method : {fi::Method::rk4, fi::Method::heun}) {
    auto z = fs::ParticleSet<double>::from_column_major(s.ctx, s.z0.data(), 20, 2);
    fs::ParticleSet<double> lls;
    fi::Options<double> opts;
    opts.log_density = &lls;
    fi::integrate<double>(s.ctx, field, path, z, fi::uniform_grid(0.0, 0.9, 64), method, opts);
    ASSERT_EQ(lls.n(), 20u);
    const std::vector<double> ll = lls.to_host();
    const Eigen::Matrix2d C = 0.81 * s.S + 0.01 * Eigen::Matrix2d::Identity();
    const Eigen::Matrix2d Ci = C.inverse();
    double worst = 0;
    for (int i = 0; i < 20; ++i) {
      const Eigen::Vector2d x(z.at(i, 0) - 0.9 * s.m(0), z.at(i, 1) - 0.9 * s.m(1));
      const double want = -0.5 * x.dot(Ci * x) - 0.5 * std::log(C.determinant()) - std::log(2 * M_PI);
      worst = std::max(worst, std::fabs(ll[i] - want));
    }
    EXPECT_LT(worst, method == fi::Method::rk4 ? 1e-7 : 1e-3) << fi::to_string(method);
  }
  auto z = fs::ParticleSet<double>::from_column_major(s.ctx, s.z0.data(), 20, 2);
  fs::ParticleSet<double> ll;
  fi::Options<double> opts;
  opts.log_density = &ll;
  EXPECT_THROW(fi::integrate<double>(s.ctx, field, path, z, fi::uniform_grid(0.0, 0.9, 4), fi::Method::ddim, opts),
               fs::Error);
}

// Euler–Maruyama on the reverse SDE: eta = 0 is the Euler ODE step exactly;
// eta = 1 on the vp path lands on the target's moments (1-d N(1, 0.5)).
TEST(Integrate, ReverseSdeKeepsTheMarginals) {
  fs::Context ctx = fs::Context::create(fs::Backend::cpu, 11, 2);
  fs::targets::GaussianMixture g(1);
  g.add(1.0, {1.0}, {0.5});
  const fs::fields::GmmFlow<double> flow(fs::fields::GmmField(g), fs::paths::make_path("vp", {4.0}));
  const auto& path = *flow.path();
  const auto grid = fi::uniform_grid(0.0, 0.995, 400);
  const std::size_t n = 40000;
  const auto p0 = path.at(0.0);
  auto z = fs::targets::sample_initial<double>(ctx, g, fs::targets::Noise::isotropic(), p0.a, p0.b, n, true);
  auto ode = z.copy(ctx);
  auto ode_em = z.copy(ctx);
  fi::integrate(ctx, flow, ode, grid, fi::Method::euler);
  fi::integrate_sde(ctx, flow, ode_em, grid, {0.0});
  EXPECT_EQ(ode.to_host(), ode_em.to_host());
  fi::integrate_sde(ctx, flow, z, grid, {1.0});
  double m = 0, v = 0;
  for (std::size_t i = 0; i < n; ++i) m += z.at(i, 0);
  m /= n;
  for (std::size_t i = 0; i < n; ++i) v += (z.at(i, 0) - m) * (z.at(i, 0) - m);
  v /= n;
  const auto pe = path.at(0.995);  // the law at the last grid time: N(a m, a^2 S + b^2)
  EXPECT_NEAR(m, pe.a * 1.0, 0.02);
  EXPECT_NEAR(v, pe.a * pe.a * 0.5 + pe.b * pe.b, 0.03);
  auto bad = z.copy(ctx);
  const fs::fields::GmmFlow<double> linear(fs::fields::GmmField(g), fs::paths::make_path("linear"));
  EXPECT_THROW(fi::integrate_sde(ctx, linear, bad, grid, {1.0}), fs::Error);
}
