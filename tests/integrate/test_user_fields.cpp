// User fields plug into the integrators; the Langevin corrector keeps (and
// finds) the path's marginal.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "flowsampler/fields/gmm_field.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/fields/pointwise.hpp"
#include "flowsampler/integrate/integrate.hpp"

namespace fs = flowsampler;
namespace fi = flowsampler::integrate;

namespace {

// v = omega J z: rotation by omega t, a closed-form flow map.
struct Rotation {
  double omega;
  template <class Real>
  void operator()(double, const Real* z, Real* v) const {
    v[0] = static_cast<Real>(-omega * z[1]);
    v[1] = static_cast<Real>(omega * z[0]);
  }
};

}  // namespace

TEST(UserField, PointwiseFunctorIntegratesToItsFlowMap) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const auto field = fs::fields::pointwise<double>(2, Rotation{1.5});
  const std::size_t n = 10000;  // enough to run the threaded loop
  std::vector<double> z0(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    z0[i] = std::cos(0.001 * double(i));
    z0[n + i] = 0.5 * std::sin(0.003 * double(i));
  }
  auto z = fs::ParticleSet<double>::from_column_major(ctx, z0.data(), n, 2);
  auto w = z.copy(ctx);
  fi::integrate(ctx, field, z, fi::uniform_grid(0.0, 2.0, 200), fi::Method::rk4);
  fi::AdaptiveOptions o;
  o.rtol = o.atol = 1e-10;
  fi::integrate_adaptive(ctx, field, w, 0.0, 2.0, o);
  const double c = std::cos(3.0), s = std::sin(3.0);
  double worst_rk4 = 0, worst_dopri = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = c * z0[i] - s * z0[n + i], y = s * z0[i] + c * z0[n + i];
    worst_rk4 = std::max({worst_rk4, std::fabs(z.at(i, 0) - x), std::fabs(z.at(i, 1) - y)});
    worst_dopri = std::max({worst_dopri, std::fabs(w.at(i, 0) - x), std::fabs(w.at(i, 1) - y)});
  }
  EXPECT_LT(worst_rk4, 1e-7);
  EXPECT_LT(worst_dopri, 1e-8);
  // A float cloud through the same functor.
  auto zf = fs::ParticleSet<float>::from_column_major(ctx, std::vector<float>(z0.begin(), z0.end()).data(), n, 2);
  fi::integrate(ctx, fs::fields::pointwise<float>(2, Rotation{1.5}), zf, fi::uniform_grid(0.0, 2.0, 50), fi::Method::rk4);
  EXPECT_NEAR(zf.at(0, 0), c, 1e-4);
}

// A functor that throws on one particle, in the threaded loop (n > 4096) and
// in the block-by-block path: the exception reaches the caller (it used to
// leave an OpenMP region: std::terminate).
TEST(UserField, AFunctorsExceptionReachesTheCaller) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const auto field = fs::fields::pointwise<double>(1, [](double, const double* z, double* v) {
    if (z[0] == 4321.0) throw std::domain_error("no velocity at 4321");
    v[0] = -z[0];
  });
  for (std::size_t n : {std::size_t(5000), std::size_t(100000)}) {
    std::vector<double> x0(n);
    for (std::size_t i = 0; i < n; ++i) x0[i] = double(i);
    auto x = fs::ParticleSet<double>::from_column_major(ctx, x0.data(), n, 1);
    EXPECT_THROW(fi::integrate(ctx, field, x, fi::uniform_grid(0.0, 1.0, 4), fi::Method::heun), std::domain_error) << n;
  }
}

TEST(UserField, MissingCapabilitiesAreNamed) {
  fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 1);
  const auto field = fs::fields::pointwise<double>(2, Rotation{1.0});
  auto z = fs::ParticleSet<double>(ctx, 4, 2);
  try {
    fi::integrate(ctx, field, z, {0.0, 0.5}, fi::Method::ddim);
    FAIL() << "ddim on a field without a denoiser";
  } catch (const fs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("denoiser"), std::string::npos) << e.what();
  }
  fs::ParticleSet<double> ll;
  fi::Options<double> opts;
  opts.log_density = &ll;
  EXPECT_THROW(fi::integrate(ctx, field, z, {0.0, 0.5}, fi::Method::rk4, opts), fs::Error);
  EXPECT_THROW(fi::integrate_sde(ctx, field, z, {0.0, 0.5}), fs::Error);
  auto wrong = fs::ParticleSet<double>(ctx, 4, 3);
  EXPECT_THROW(fi::integrate(ctx, field, wrong, {0.0, 0.5}, fi::Method::rk4), fs::Error);
  EXPECT_THROW(fs::fields::pointwise<double>(0, Rotation{1.0}), fs::Error);
}

// Langevin steps at a fixed t move a wrong cloud to p_t = N(a m, a^2 S + b^2)
// (1-d); ULA's O(e) bias in the variance is e / (2 v), about 2.5% here.
TEST(Langevin, CorrectorFindsTheMarginal) {
  fs::Context ctx = fs::Context::create(fs::Backend::cpu, 21, 2);
  fs::targets::GaussianMixture g(1);
  g.add(1.0, {1.5}, {0.3});
  const fs::fields::GmmFlow<double> flow(fs::fields::GmmField(g), fs::paths::make_path("linear"));
  const double t = 0.8;
  const auto p = flow.path()->at(t);
  const double want_m = p.a * 1.5, want_v = p.a * p.a * 0.3 + p.b * p.b;
  const std::size_t n = 20000;
  auto z = fs::ParticleSet<double>(ctx, n, 1);
  fs::fill_normal(ctx, z);  // N(0, 1): wrong mean and variance
  fi::langevin_correct(ctx, flow, z, t, 400, 0.16);
  double m = 0, v = 0;
  for (std::size_t i = 0; i < n; ++i) m += z.at(i, 0) / double(n);
  for (std::size_t i = 0; i < n; ++i) v += (z.at(i, 0) - m) * (z.at(i, 0) - m) / double(n);
  // Standard errors: sqrt(v / n) = 0.004 for the mean, v sqrt(2 / n) = 0.004 for the variance.
  EXPECT_NEAR(m, want_m, 5 * std::sqrt(want_v / n));
  EXPECT_NEAR(v / want_v, 1.0, 0.05);
  EXPECT_THROW(fi::langevin_correct(ctx, flow, z, t, 1, 0.0), fs::Error);
  // The SDE with a corrector after each step keeps the moments at the end
  // (Euler-Maruyama's own variance bias is about 1.5% at 800 steps, 6% at 200).
  const fs::fields::GmmFlow<double> vp(fs::fields::GmmField(g), fs::paths::make_path("vp", {4.0}));
  const auto q0 = vp.path()->at(0.0);
  auto y = fs::targets::sample_initial<double>(ctx, g, fs::targets::Noise::isotropic(), q0.a, q0.b, n, true);
  fi::SdeOptions so;
  so.langevin_steps = 1;
  const auto r = fi::integrate_sde(ctx, vp, y, fi::uniform_grid(0.0, 0.99, 800), so);
  EXPECT_EQ(r.nfe, 1600);
  const auto pe = vp.path()->at(0.99);
  double ym = 0, yv = 0;
  for (std::size_t i = 0; i < n; ++i) ym += y.at(i, 0) / double(n);
  for (std::size_t i = 0; i < n; ++i) yv += (y.at(i, 0) - ym) * (y.at(i, 0) - ym) / double(n);
  const double ev = pe.a * pe.a * 0.3 + pe.b * pe.b;
  EXPECT_NEAR(ym, pe.a * 1.5, 5 * std::sqrt(ev / n));
  EXPECT_NEAR(yv / ev, 1.0, 0.05);
}
