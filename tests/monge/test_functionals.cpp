// Wasserstein gradients of the functionals against finite differences of
// their values (MMD, Sinkhorn) or closed forms (KL), the log-concavity check,
// and the optimizers.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "flowsampler/core/error.hpp"
#include "flowsampler/fields/score_estimates.hpp"
#include "flowsampler/monge/functional.hpp"
#include "flowsampler/monge/optimizer.hpp"

using namespace flowsampler;
using namespace flowsampler::monge;

namespace {

ParticleSet<double> random_cloud(const Context& ctx, std::size_t n, std::size_t d, double shift, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd;
  std::vector<double> x(n * d);
  for (double& v : x) v = nd(rng) + shift;
  return ParticleSet<double>::from_column_major(ctx, x.data(), n, d);
}

// d/dy_i F(mu) = (1/N) grad_W F(mu)(y_i) for mu = (1/N) sum_i delta_{y_i}.
void expect_wgrad_matches_fd(const Context& ctx, const Functional& F, const ParticleSet<double>& y, double h, double tol) {
  const std::size_t n = y.n(), d = y.d();
  const std::vector<double> g = F.wgrad(ctx, y).to_host();
  std::vector<double> base = y.to_host();
  double worst = 0, scale = 0;
  for (std::size_t i : {std::size_t(0), n / 2, n - 1})
    for (std::size_t c = 0; c < d; ++c) {
      std::vector<double> p = base, m = base;
      p[c * n + i] += h, m[c * n + i] -= h;
      const double fd = (F.value(ctx, ParticleSet<double>::from_column_major(ctx, p.data(), n, d)) -
                         F.value(ctx, ParticleSet<double>::from_column_major(ctx, m.data(), n, d))) / (2 * h) * double(n);
      worst = std::max(worst, std::fabs(fd - g[c * n + i]));
      scale = std::max(scale, std::fabs(fd));
    }
  EXPECT_GT(scale, 1e-2);
  EXPECT_LT(worst, tol * scale) << F.name();
}

TEST(MongeFunctional, MmdGradientIsTheDerivativeOfItsValue) {
  Context ctx = Context::create(Backend::cpu, 0);
  const auto nu = random_cloud(ctx, 40, 3, 0.0, 1);
  const auto y = random_cloud(ctx, 30, 3, 0.8, 2);
  expect_wgrad_matches_fd(ctx, *make_mmd(ctx, nu), y, 1e-6, 1e-6);
  expect_wgrad_matches_fd(ctx, *make_mmd(ctx, nu, {pairwise::Kernel::gaussian, 1.3}), y, 1e-6, 1e-6);
}

TEST(MongeFunctional, SinkhornGradientIsTheDerivativeOfItsValue) {
  Context ctx = Context::create(Backend::cpu, 0);
  const auto nu = random_cloud(ctx, 25, 2, 0.0, 3);
  const auto y = random_cloud(ctx, 20, 2, 1.0, 4);
  expect_wgrad_matches_fd(ctx, *make_sinkhorn(ctx, nu, 0.5, 1e-10), y, 1e-4, 1e-3);
}

TEST(MongeFunctional, KlGradientOfAShiftedTargetIsTheConstantPull) {
  // y ~ N(m + delta, S) and pi = N(m, S): grad log mu - grad log pi = S^-1 delta,
  // the same at every point (up to the score estimate's error).
  Context ctx = Context::create(Backend::cpu, 5);
  targets::GaussianMixture pi(2);
  pi.add(1, {0.5, -1}, {1.0, 0.3, 0.3, 0.6});
  auto F = make_kl(ctx, pi);
  auto y = pi.sample<double>(ctx, 3000);
  std::vector<double> h = y.to_host();
  const double delta[2] = {0.6, -0.4};
  for (std::size_t i = 0; i < 3000; ++i) h[i] += delta[0], h[3000 + i] += delta[1];
  y = ParticleSet<double>::from_column_major(ctx, h.data(), 3000, 2);
  const std::vector<double> g = F->wgrad(ctx, y).to_host();
  // S^-1 delta with S = [[1, .3], [.3, .6]], det = 0.51.
  const double want[2] = {(0.6 * delta[0] - 0.3 * delta[1]) / 0.51, (-0.3 * delta[0] + 1.0 * delta[1]) / 0.51};
  double mean[2] = {0, 0};
  for (std::size_t i = 0; i < 3000; ++i) mean[0] += g[i] / 3000, mean[1] += g[3000 + i] / 3000;
  EXPECT_NEAR(mean[0], want[0], 0.1 * std::hypot(want[0], want[1]));
  EXPECT_NEAR(mean[1], want[1], 0.1 * std::hypot(want[0], want[1]));
  // The unshifted cloud: the two scores cancel, up to the estimate's smoothing bias.
  const auto y0 = pi.sample<double>(ctx, 3000);
  const std::vector<double> g0 = F->wgrad(ctx, y0).to_host();
  double m0[2] = {0, 0};
  for (std::size_t i = 0; i < 3000; ++i) m0[0] += g0[i] / 3000, m0[1] += g0[3000 + i] / 3000;
  EXPECT_LT(std::hypot(m0[0], m0[1]), 0.1 * std::hypot(want[0], want[1]));
  // value(): KL of the shifted cloud is delta^T S^-1 delta / 2 (kNN entropy estimate).
  EXPECT_NEAR(F->value(ctx, y), 0.5 * (delta[0] * want[0] + delta[1] * want[1]), 0.1);
}

// At pi's own law the exact score cancels grad V = C^-1 y, so what is left of
// grad_W KL is the estimate's error: a fraction (1 - beta) of C^-1 y, beta the
// estimate's average shrinkage. The default (blob) must shrink less than the
// seed's self-entropic-OT estimate (the reason it is the default), and `ot`
// must be exactly that estimate: grad_W = C^-1 y + ot_score(y), C^-1 by hand.
TEST(MongeFunctional, KlDefaultScoreIsBlobAndLessBiasedThanOt) {
  EXPECT_EQ(KlOptions{}.score, jko::ScoreEstimator::blob);
  targets::GaussianMixture pi(2);
  pi.add(1, {0, 0}, {1.0, 0.3, 0.3, 0.6});
  const double det = 0.51, P[4] = {0.6 / det, -0.3 / det, -0.3 / det, 1.0 / det};  // C^-1, symmetric
  KlOptions ot;
  ot.score = jko::ScoreEstimator::ot;
  const std::size_t n = 400;
  double left[2] = {0, 0}, ot_gap = 0;
  for (std::uint64_t rep = 0; rep < 6; ++rep) {
    Context ctx = Context::create(Backend::cpu, 40 + rep);
    const auto y = pi.sample<double>(ctx, n);
    const std::vector<double> h = y.to_host();
    const std::vector<double> s_ot = fields::ot_score(ctx, fields::default_ot_eps(ctx, y), 1e-4, y, y).to_host();
    int k = 0;
    for (const KlOptions& o : {KlOptions{}, ot}) {
      const std::vector<double> g = make_kl(ctx, pi, o)->wgrad(ctx, y).to_host();
      double num = 0, den = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const double t0 = P[0] * h[i] + P[1] * h[n + i], t1 = P[2] * h[i] + P[3] * h[n + i];
        num += g[i] * t0 + g[n + i] * t1, den += t0 * t0 + t1 * t1;
        if (k == 1) ot_gap = std::max({ot_gap, std::fabs(g[i] - t0 - s_ot[i]), std::fabs(g[n + i] - t1 - s_ot[n + i])});
      }
      left[k++] += num / den / 6;
    }
  }
  EXPECT_LT(ot_gap, 1e-9);
  // Measured (6 x 400 points, the same clouds for both): blob leaves 0.092, ot 0.110.
  EXPECT_GT(left[0], 0.0);
  EXPECT_LT(left[0], left[1] - 0.01) << "blob " << left[0] << " vs ot " << left[1];
}

// log pi for a 2-D mixture, written out: the reference for the curvature check.
double log_mix(const std::vector<std::vector<double>>& m, const std::vector<std::vector<double>>& S,
               const std::vector<double>& w, double x0, double x1) {
  double p = 0;
  for (std::size_t k = 0; k < w.size(); ++k) {
    const double a = S[k][0], b = S[k][1], c = S[k][3], det = a * c - b * b;
    const double u = x0 - m[k][0], v = x1 - m[k][1];
    const double q = (c * u * u - 2 * b * u * v + a * v * v) / det;
    p += w[k] * std::exp(-0.5 * q) / (2 * M_PI * std::sqrt(det));
  }
  return std::log(p);
}

TEST(MongeFunctional, CurvatureOfLogDensityMatchesFiniteDifferences) {
  Context ctx = Context::create(Backend::cpu, 0);
  const std::vector<std::vector<double>> m{{-1, 0}, {1.5, 0.5}}, S{{0.5, 0.1, 0.1, 0.4}, {0.3, 0, 0, 0.8}};
  const std::vector<double> w{0.4, 0.6};
  targets::GaussianMixture pi(2);
  for (int k = 0; k < 2; ++k) pi.add(w[k], m[k], S[k]);
  const double h = 1e-4;
  for (const auto& pt : std::vector<std::pair<double, double>>{{0.2, 0.1}, {-1, 0}, {1, 1}, {0.4, -0.3}}) {
    const double x = pt.first, y = pt.second;
    auto f = [&](double a, double b) { return log_mix(m, S, w, a, b); };
    const double fxx = (f(x + h, y) - 2 * f(x, y) + f(x - h, y)) / (h * h);
    const double fyy = (f(x, y + h) - 2 * f(x, y) + f(x, y - h)) / (h * h);
    const double fxy = (f(x + h, y + h) - f(x + h, y - h) - f(x - h, y + h) + f(x - h, y - h)) / (4 * h * h);
    const double top = 0.5 * (fxx + fyy) + std::sqrt(0.25 * (fxx - fyy) * (fxx - fyy) + fxy * fxy);
    const double one[2] = {x, y};
    const auto p = ParticleSet<double>::from_row_major(ctx, one, 1, 2);
    EXPECT_NEAR(max_log_density_curvature(pi, p), top, 1e-4 * (1 + std::fabs(top)));
  }
}

TEST(MongeFunctional, NonLogConcaveKlTargetIsRefusedOrWarned) {
  Context ctx = Context::create(Backend::cpu, 0);
  targets::GaussianMixture bimodal(2);
  bimodal.add(0.5, {-3, 0}, {0.5});
  bimodal.add(0.5, {3, 0}, {0.5});
  EXPECT_THROW(make_kl(ctx, bimodal), Error);
  KlOptions warn;
  warn.check = LogConcaveCheck::warn;
  EXPECT_NO_THROW(make_kl(ctx, bimodal, warn));
  // Two nearly coincident components: log-concave, accepted.
  targets::GaussianMixture close(2);
  close.add(0.5, {-0.1, 0}, {1.0});
  close.add(0.5, {0.1, 0}, {1.0});
  EXPECT_NO_THROW(make_kl(ctx, close));
  EXPECT_THROW(make_kl(ctx, targets::GaussianMixture::empirical({0, 0, 1, 1}, 2, 2)), Error);
  // Wrong dimension at evaluation time.
  targets::GaussianMixture one(2);
  one.add(1, {0, 0}, {1.0});
  EXPECT_THROW(make_kl(ctx, one)->wgrad(ctx, random_cloud(ctx, 10, 3, 0, 1)), Error);
}

TEST(MongeOptimizer, AdamFirstStepIsLrTimesSignAndGdConverges) {
  Adam adam(0.1);
  std::vector<double> th{1.0, -2.0, 3.0};
  adam.step(th, {4.0, -0.001, 0.0});
  EXPECT_NEAR(th[0], 1.0 - 0.1, 1e-6);
  EXPECT_NEAR(th[1], -2.0 + 0.1, 1e-4);
  EXPECT_EQ(th[2], 3.0);
  // Adam on f = sum_k c_k (theta_k - 1)^2 reaches the minimiser.
  Adam a2(0.05);
  std::vector<double> t2{5, -3};
  for (int i = 0; i < 3000; ++i) a2.step(t2, {2 * 1.0 * (t2[0] - 1), 2 * 10.0 * (t2[1] - 1)});
  EXPECT_NEAR(t2[0], 1, 1e-3);
  EXPECT_NEAR(t2[1], 1, 1e-3);
  GradientDescent gd(0.04);
  std::vector<double> t3{5, -3};
  for (int i = 0; i < 500; ++i) gd.step(t3, {2 * (t3[0] - 1), 20 * (t3[1] - 1)});
  EXPECT_NEAR(t3[0], 1, 1e-6);
  EXPECT_NEAR(t3[1], 1, 1e-6);
  EXPECT_THROW(GradientDescent(0), Error);
  EXPECT_THROW(Adam(0.1, 1.0), Error);
  EXPECT_THROW(gd.step(t3, {1.0}), Error);
  EXPECT_THROW(gd.step(t3, {NAN, 0.0}), Error);
}

}  // namespace
