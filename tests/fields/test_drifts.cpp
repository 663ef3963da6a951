// Kernel drift fields against naive double loops, finite differences of the
// MMD, and SVGD's fixed point.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "flowsampler/core/error.hpp"
#include "flowsampler/core/random.hpp"
#include "flowsampler/fields/attention.hpp"
#include "flowsampler/fields/drifts.hpp"
#include "flowsampler/fields/score_estimates.hpp"
#include "flowsampler/integrate/integrate.hpp"
#include "flowsampler/metrics/mmd.hpp"
#include "flowsampler/metrics/moments.hpp"
#include "flowsampler/metrics/sinkhorn.hpp"

namespace fs = flowsampler;
namespace ff = flowsampler::fields;
using fs::pairwise::Kernel;

namespace {

fs::ParticleSet<double> cloud(const fs::Context& ctx, std::size_t n, std::size_t d, unsigned seed, double shift = 0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> n01;
  std::vector<double> c(n * d);
  for (auto& v : c) v = shift + n01(rng);
  return fs::ParticleSet<double>::from_column_major(ctx, c.data(), n, d);
}

double k(Kernel kind, double r, double h) {
  switch (kind) {
    case Kernel::gaussian: return std::exp(-r * r / (2 * h * h));
    case Kernel::laplace: return std::exp(-r / h);
    case Kernel::imq: return 1 / std::sqrt(1 + r * r / (h * h));
    case Kernel::energy: return -r / h;
  }
  return 0;
}

double dist(const fs::ParticleSet<double>& a, std::size_t i, const fs::ParticleSet<double>& b, std::size_t j) {
  double s = 0;
  for (std::size_t c = 0; c < a.d(); ++c) s += std::pow(a.at(i, c) - b.at(j, c), 2);
  return std::sqrt(s);
}

// Naive B_h[nu](x_i), optionally leaving out index `skip`.
std::vector<double> naive_shift(const fs::ParticleSet<double>& x, std::size_t i, const fs::ParticleSet<double>& y,
                                const std::vector<double>& w, Kernel kind, double h, long skip = -1) {
  std::vector<double> num(x.d(), 0.0);
  double den = 0;
  for (std::size_t j = 0; j < y.n(); ++j) {
    if (long(j) == skip) continue;
    const double kw = (w.empty() ? 1.0 : w[j]) * k(kind, dist(x, i, y, j), h);
    den += kw;
    for (std::size_t c = 0; c < x.d(); ++c) num[c] += kw * (y.at(j, c) - x.at(i, c));
  }
  for (double& v : num) v /= den;
  return num;
}

ff::FieldRequest velocity() {
  ff::FieldRequest r;
  r.velocity = true;
  return r;
}

}  // namespace

TEST(Drifts, MeanShiftAndDriftingMatchNaiveLoops) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const auto x = cloud(ctx, 40, 3, 1), y = cloud(ctx, 30, 3, 2, 0.7);
  std::vector<double> w(30);
  for (std::size_t j = 0; j < 30; ++j) w[j] = 0.5 + double(j % 4);
  for (Kernel kind : {Kernel::gaussian, Kernel::laplace}) {
    ff::DriftOptions o;
    o.kernel = {kind, 0.9};
    const ff::DriftField<double> ms(ctx, ff::Drift::mean_shift, o, &y, w);
    const auto v = ms.evaluate(ctx, 0, x, velocity()).velocity;
    for (bool self : {false, true}) {
      o.include_self = self;
      const ff::DriftField<double> dr(ctx, ff::Drift::drifting, o, &y);
      const auto u = dr.evaluate(ctx, 0, x, velocity()).velocity;
      for (std::size_t i = 0; i < 40; ++i) {
        const auto a = naive_shift(x, i, y, {}, kind, 0.9), r = naive_shift(x, i, x, {}, kind, 0.9, self ? -1 : long(i));
        for (std::size_t c = 0; c < 3; ++c) EXPECT_NEAR(u.at(i, c), a[c] - r[c], 1e-10) << fs::pairwise::to_string(kind);
      }
    }
    for (std::size_t i = 0; i < 40; ++i) {
      const auto want = naive_shift(x, i, y, w, kind, 0.9);
      for (std::size_t c = 0; c < 3; ++c) EXPECT_NEAR(v.at(i, c), want[c], 1e-10);
    }
  }
  // The drifting field vanishes when the cloud is the data (self term kept).
  ff::DriftOptions o;
  o.kernel = {Kernel::laplace, 1.0};
  o.include_self = true;
  const ff::DriftField<double> dr(ctx, ff::Drift::drifting, o, &x);
  const auto zero = dr.evaluate(ctx, 0, x, velocity()).velocity;
  for (std::size_t e = 0; e < zero.size(); ++e) EXPECT_NEAR(zero.data()[e], 0.0, 1e-14);
  // The mean shift of a symmetric cloud onto itself is zero at its centre.
  std::vector<double> sym = {1, -1, 2, -2, 0.5, -0.5, 3, -3};  // 4 points and their mirrors, d = 2, column-major
  const auto s = fs::ParticleSet<double>::from_column_major(ctx, sym.data(), 4, 2);
  const ff::DriftField<double> ms(ctx, ff::Drift::mean_shift, o, &s);
  const double centre[2] = {0, 0};
  const auto c = ms.evaluate(ctx, 0, fs::ParticleSet<double>::from_column_major(ctx, centre, 1, 2), velocity()).velocity;
  EXPECT_NEAR(c.at(0, 0), 0.0, 1e-14);
  EXPECT_NEAR(c.at(0, 1), 0.0, 1e-14);
}

// The public implementation's drifting field, written as that code does it:
// dense N x (M + N) matrices, self pairs masked, A = K / sqrt(row sum x column sum).
std::vector<double> naive_drifting_normalized(const fs::ParticleSet<double>& x, const fs::ParticleSet<double>& y,
                                              const std::vector<double>& taus, bool include_self) {
  const std::size_t n = x.n(), m = y.n(), d = x.d(), t = m + n;
  auto target = [&](std::size_t j, std::size_t c) { return j < m ? y.at(j, c) : x.at(j - m, c); };
  std::vector<double> dmat(n * t);
  std::vector<bool> live(n * t, true);
  double sum = 0, count = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < t; ++j) {
      dmat[i * t + j] = j < m ? dist(x, i, y, j) : dist(x, i, x, j - m);
      if (!include_self && j == m + i) live[i * t + j] = false;
      if (live[i * t + j]) sum += dmat[i * t + j], count += 1;
    }
  const double s = sum / count;
  std::vector<double> out(n * d, 0.0);
  for (double tau : taus) {
    std::vector<double> kmat(n * t), row(n, 0.0), col(t, 0.0);
    for (std::size_t e = 0; e < n * t; ++e) kmat[e] = live[e] ? std::exp(-dmat[e] / (s * tau)) : 0.0;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < t; ++j) row[i] += kmat[i * t + j], col[j] += kmat[i * t + j];
    std::vector<double> v(n * d, 0.0);
    double sq = 0;
    for (std::size_t i = 0; i < n; ++i) {
      double wp = 0, wn = 0;
      for (std::size_t j = 0; j < t; ++j) (j < m ? wp : wn) += kmat[i * t + j] / std::sqrt(row[i] * col[j]);
      for (std::size_t j = 0; j < t; ++j) {
        const double a = kmat[i * t + j] / std::sqrt(row[i] * col[j]);
        for (std::size_t c = 0; c < d; ++c) v[c * n + i] += (j < m ? a * wn : -a * wp) * target(j, c);
      }
      for (std::size_t c = 0; c < d; ++c) sq += v[c * n + i] * v[c * n + i];
    }
    const double rms = std::sqrt(sq / double(n * d));
    for (std::size_t e = 0; e < out.size(); ++e) out[e] += v[e] / rms;
  }
  return out;
}

TEST(Drifts, NormalizedDriftingMatchesThePublicCodesDenseForm) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const auto x = cloud(ctx, 37, 3, 11), y = cloud(ctx, 23, 3, 12, 0.8);
  for (bool self : {false, true}) {
    ff::DriftOptions o;
    o.include_self = self;
    // At tau = 0.02 most of these 37 points weigh less than 1e-6 of their own
    // self pair: the engine leaves the pair out exactly, no digits are lost.
    for (const auto& [taus, tol] : {std::pair{std::vector<double>{0.05, 0.2, 1.0}, 1e-9},
                                    std::pair{std::vector<double>{0.02, 0.05, 0.2}, 1e-9}}) {
      o.temperatures = taus;
      const ff::DriftField<double> f(ctx, ff::Drift::drifting_normalized, o, &y);
      const auto v = f.evaluate(ctx, 0, x, velocity()).velocity;
      const auto want = naive_drifting_normalized(x, y, o.temperatures, self);
      for (std::size_t e = 0; e < want.size(); ++e) EXPECT_NEAR(v.data()[e], want[e], tol * (1 + std::fabs(want[e]))) << e;
    }
  }
  // With the self term kept, a cloud that is the data feels no drift.
  ff::DriftOptions o;
  o.include_self = true;
  const ff::DriftField<double> f(ctx, ff::Drift::drifting_normalized, o, &x);
  const auto zero = f.evaluate(ctx, 0, x, velocity()).velocity;
  for (std::size_t e = 0; e < zero.size(); ++e) EXPECT_NEAR(zero.data()[e], 0.0, 1e-12);
  o.temperatures = {0.1, -1};
  EXPECT_THROW((ff::DriftField<double>(ctx, ff::Drift::drifting_normalized, o, &y).evaluate(ctx, 0, x, velocity())),
               fs::Error);
  EXPECT_THROW((ff::DriftField<double>(ctx, ff::Drift::drifting_normalized, {}, &y, std::vector<double>(23, 1.0))),
               fs::Error);
}

// The blob field is N grad_{x_i} of F = (1/N) sum_i log (1/N) sum_j k(x_i, x_j),
// the blob entropy of the empirical measure: central differences of F.
TEST(Drifts, BlobFieldIsTheGradientOfTheBlobEntropy) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const auto x = cloud(ctx, 30, 2, 13);
  const double h = 0.7;
  auto entropy = [&](const fs::ParticleSet<double>& p) {
    double f = 0;
    for (std::size_t i = 0; i < p.n(); ++i) {
      double s = 0;
      for (std::size_t j = 0; j < p.n(); ++j) s += k(Kernel::gaussian, dist(p, i, p, j), h);
      f += std::log(s / double(p.n()));
    }
    return f / double(p.n());
  };
  ff::DriftOptions o;
  o.kernel = {Kernel::gaussian, h};
  const ff::DriftField<double> f(ctx, ff::Drift::blob, o, nullptr);
  const auto v = f.evaluate(ctx, 0, x, velocity()).velocity;
  const double step = 1e-5;
  for (std::size_t i : {0u, 9u, 29u})
    for (std::size_t c = 0; c < 2; ++c) {
      auto xp = x.copy(ctx), xm = x.copy(ctx);
      xp.at(i, c) += step;
      xm.at(i, c) -= step;
      const double g = 30 * (entropy(xp) - entropy(xm)) / (2 * step);
      EXPECT_NEAR(v.at(i, c), g, 1e-6 * (1 + std::fabs(g)));
    }
  o.kernel = {Kernel::laplace, h};
  EXPECT_THROW(ff::DriftField<double>(ctx, ff::Drift::blob, o, nullptr), fs::Error);
}

// The MMD velocity is -(N / 2) grad_{x_i} MMD^2(x, y), checked by central differences.
TEST(Drifts, MmdVelocityIsTheMmdGradient) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const auto x = cloud(ctx, 25, 2, 3), y = cloud(ctx, 20, 2, 4, 0.5);
  for (Kernel kind : {Kernel::gaussian, Kernel::laplace, Kernel::imq, Kernel::energy}) {
    ff::DriftOptions o;
    o.kernel = {kind, 1.1};
    const ff::DriftField<double> f(ctx, ff::Drift::mmd, o, &y);
    const auto v = f.evaluate(ctx, 0, x, velocity()).velocity;
    const double h = 1e-5;
    for (std::size_t i : {0u, 7u, 24u})
      for (std::size_t c = 0; c < 2; ++c) {
        auto xp = x.copy(ctx), xm = x.copy(ctx);
        xp.at(i, c) += h;
        xm.at(i, c) -= h;
        const double g = (fs::metrics::mmd_squared(ctx, o.kernel, xp, y) - fs::metrics::mmd_squared(ctx, o.kernel, xm, y)) / (2 * h);
        EXPECT_NEAR(v.at(i, c), -12.5 * g, 1e-6 * (1 + std::fabs(v.at(i, c)))) << fs::pairwise::to_string(kind);
      }
  }
}

TEST(Drifts, KdeScoreMatchesTheNaiveGradient) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const auto x = cloud(ctx, 30, 2, 5);
  ff::DriftOptions o;
  o.kernel = {Kernel::gaussian, 0.6};
  const ff::DriftField<double> f(ctx, ff::Drift::kde_score, o, nullptr);
  const auto v = f.evaluate(ctx, 0, x, velocity()).velocity;
  for (std::size_t i = 0; i < 30; ++i) {
    // grad log sum_j exp(-|x - x_j|^2 / (2 h^2)) = sum_j k_j (x_j - x) / (h^2 sum_j k_j)
    const auto b = naive_shift(x, i, x, {}, Kernel::gaussian, 0.6);
    for (std::size_t c = 0; c < 2; ++c) EXPECT_NEAR(v.at(i, c), b[c] / 0.36, 1e-10);
  }
  EXPECT_THROW(ff::DriftField<double>(ctx, ff::Drift::mmd, o, nullptr), fs::Error);
  EXPECT_THROW(ff::parse_drift("attention"), fs::Error);
}

// The fused SVGD pass against the textbook formula, a dense double loop:
// phi(x_i) = (1/N) sum_j [k(z_j, x_i) s(z_j) + grad_{z_j} k(z_j, x_i)] with
// the exact score s(z) = -(z - m) / v of an isotropic Gaussian target. Sizes
// cover N = 1, a partial tile (37) and more than one tile (600), the
// compile-time dimensions 1 and 2 and the runtime-d path (5), float and double.
template <class Real>
void check_svgd_against_dense_loop(std::size_t n, std::size_t d, double h, double tol) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const double v = 0.7;
  std::vector<double> m(d);
  for (std::size_t c = 0; c < d; ++c) m[c] = 0.3 * double(c) - 0.2;
  fs::targets::GaussianMixture g(d);
  g.add(1.0, m, {v});
  std::mt19937 rng(unsigned(n * 10 + d));
  std::normal_distribution<double> n01;
  std::vector<Real> zc(n * d);
  for (auto& e : zc) e = static_cast<Real>(n01(rng));
  const auto z = fs::ParticleSet<Real>::from_column_major(ctx, zc.data(), n, d);
  ff::DriftOptions o;
  o.kernel = {Kernel::gaussian, h};
  const auto phi = ff::DriftField<Real>(ctx, ff::Drift::svgd, o, nullptr, {}, &g).evaluate(ctx, 0, z, velocity()).velocity;
  double worst = 0, scale = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t c = 0; c < d; ++c) {
      double want = 0;
      for (std::size_t j = 0; j < n; ++j) {
        double r2 = 0;
        for (std::size_t e = 0; e < d; ++e) r2 += std::pow(double(zc[e * n + i]) - double(zc[e * n + j]), 2);
        const double kij = std::exp(-r2 / (2 * h * h));
        const double zi = double(zc[c * n + i]), zj = double(zc[c * n + j]);
        want += kij * (-(zj - m[c]) / v) + kij * (zi - zj) / (h * h);
      }
      want /= double(n);
      worst = std::max(worst, std::fabs(double(phi.at(i, c)) - want));
      scale = std::max(scale, std::fabs(want));
    }
  EXPECT_LE(worst, tol * (1 + scale)) << "n = " << n << ", d = " << d << ", h = " << h;
}

// A bandwidth (or eps) whose 1 / h^2 (1 / eps) overflows the precision gave
// NaN scores that surfaced far away (as a diverged optimizer step).
TEST(Drifts, ScoreEstimatesRefuseBandwidthsTooSmallToComputeWith) {
  fs::Context ctx = fs::Context::create(fs::Backend::cpu, 1);
  const auto xd = fs::ParticleSet<double>::from_column_major(ctx, std::vector<double>{0, 1, 2, 0, 1, 0}.data(), 3, 2);
  const auto xf = fs::ParticleSet<float>::from_column_major(ctx, std::vector<float>{0, 1, 2, 0, 1, 0}.data(), 3, 2);
  EXPECT_THROW(ff::kde_score(ctx, 1e-300, xd, xd), fs::Error);
  EXPECT_THROW(ff::blob_score(ctx, 1e-300, xd, xd), fs::Error);
  EXPECT_THROW(ff::blob_score(ctx, 1e-20, xf, xf), fs::Error);  // 1e40 is beyond float
  EXPECT_NO_THROW(ff::blob_score(ctx, 1e-20, xd, xd));
  EXPECT_THROW(ff::ot_score(ctx, 1e-320, 1e-4, xd, xd), fs::Error);
  for (double v : ff::blob_score(ctx, 1e-10, xd, xd).to_host()) EXPECT_TRUE(std::isfinite(v));
}

TEST(Drifts, SvgdFusedPassMatchesTheDenseFormula) {
  for (std::size_t n : {1u, 37u, 600u})
    for (std::size_t d : {1u, 2u, 5u, 12u})  // 12: the tiles by distance (cpu/distance_tile.hpp)
      for (double h : {0.4, 1.3}) {
        check_svgd_against_dense_loop<double>(n, d, h, 1e-12);
        check_svgd_against_dense_loop<float>(n, d, h, 2e-6);
      }
}

// SVGD with many particles on a Gaussian target reaches its mean and covariance.
TEST(Drifts, SvgdConvergesToAGaussianTarget) {
  fs::Context ctx = fs::Context::create(fs::Backend::cpu, 7, 2);
  fs::targets::GaussianMixture g(2);
  g.add(1.0, {1.0, -0.5}, {0.8, 0.3, 0.3, 0.5});
  ff::DriftOptions o;
  o.median_bandwidth = true;
  const ff::DriftField<double> f(ctx, ff::Drift::svgd, o, nullptr, {}, &g);
  fs::ParticleSet<double> z(ctx, 400, 2);
  fs::fill_normal(ctx, z);
  fs::integrate::integrate(ctx, f, z, fs::integrate::uniform_grid(0.0, 150.0, 1500), fs::integrate::Method::euler);
  const auto m = fs::metrics::mean(ctx, z);
  const auto C = fs::metrics::covariance(ctx, z);
  // SVGD's fixed point with N = 400 matches the moments up to its finite-N bias (a few %).
  EXPECT_NEAR(m[0], 1.0, 0.05);
  EXPECT_NEAR(m[1], -0.5, 0.05);
  EXPECT_NEAR(C[0], 0.8, 0.08);
  EXPECT_NEAR(C[1], 0.3, 0.05);
  EXPECT_NEAR(C[3], 0.5, 0.05);
  std::printf("svgd: mean %.3f %.3f cov %.3f %.3f %.3f\n", m[0], m[1], C[0], C[1], C[3]);
}

// The Sinkhorn drift vanishes when the cloud is the data; the barycentric
// projection agrees with a naive evaluation of the plan from its potential,
// whose rows carry mass 1/N each.
TEST(Drifts, SinkhornDriftAndBarycentricProjection) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const auto x = cloud(ctx, 60, 2, 8), y = cloud(ctx, 50, 2, 9, 1.0);
  ff::DriftOptions o;
  o.ot_eps = 0.3;
  o.ot_tol = 1e-9;
  const ff::DriftField<double> same(ctx, ff::Drift::sinkhorn, o, &x);
  const auto zero = same.evaluate(ctx, 0, x, velocity()).velocity;
  for (std::size_t e = 0; e < zero.size(); ++e) EXPECT_NEAR(zero.data()[e], 0.0, 1e-6);
  fs::metrics::SinkhornOptions so;
  so.eps = 0.3;
  so.tol = 1e-10;
  so.debias = false;
  const auto r = fs::metrics::sinkhorn(ctx, x, y, so);
  const auto T = fs::metrics::barycentric_projection(ctx, x, y, r.g, 0.3);
  const std::vector<double> f = r.f.to_host(), g = r.g.to_host();
  for (std::size_t i = 0; i < 60; ++i) {
    long double mass = 0, t0 = 0, t1 = 0;
    for (std::size_t j = 0; j < 50; ++j) {
      const long double p = std::exp((f[i] + g[j] - std::pow(dist(x, i, y, j), 2)) / 0.3) / (60.0L * 50.0L);
      mass += p, t0 += p * y.at(j, 0), t1 += p * y.at(j, 1);
    }
    EXPECT_NEAR(double(mass), 1.0 / 60, 1e-9);
    EXPECT_NEAR(T.at(i, 0), double(t0 / mass), 1e-9);
    EXPECT_NEAR(T.at(i, 1), double(t1 / mass), 1e-9);
  }
  // The drift moves the cloud toward the data: after a few euler steps the energy distance drops.
  const ff::DriftField<double> drift(ctx, ff::Drift::sinkhorn, o, &y);
  auto z = x.copy(ctx);
  fs::integrate::integrate(ctx, drift, z, fs::integrate::uniform_grid(0.0, 1.0, 5), fs::integrate::Method::euler);
  EXPECT_LT(fs::metrics::energy_distance(ctx, z, y), 0.2 * fs::metrics::energy_distance(ctx, x, y));
}

// The self-entropic-OT score of a Gaussian sample approaches -S^-1 (x - m) as N grows.
TEST(Drifts, SelfEntropicOtScoreOfAGaussianSample) {
  fs::Context ctx = fs::Context::create(fs::Backend::cpu, 3, 2);
  std::vector<double> errors;
  for (std::size_t n : {300u, 2400u}) {
    fs::ParticleSet<double> z(ctx, n, 2);
    fs::fill_normal(ctx, z);
    for (std::size_t i = 0; i < n; ++i) z.at(i, 1) *= 0.5;  // N(0, diag(1, 0.25))
    const ff::DriftField<double> f(ctx, ff::Drift::ot_score, ff::DriftOptions{}, nullptr);
    const auto s = f.evaluate(ctx, 0, z, velocity()).velocity;
    double err = 0, norm = 0;
    std::size_t used = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (std::hypot(z.at(i, 0), 2 * z.at(i, 1)) > 1.5) continue;  // the bulk: boundary effects shrink slowly
      const double w0 = -z.at(i, 0), w1 = -z.at(i, 1) / 0.25;
      err += std::pow(s.at(i, 0) - w0, 2) + std::pow(s.at(i, 1) - w1, 2);
      norm += w0 * w0 + w1 * w1;
      ++used;
    }
    errors.push_back(std::sqrt(err / norm));
    std::printf("ot-score: N = %zu, relative RMS error in the bulk %.3f (%zu points)\n", n, errors.back(), used);
  }
  EXPECT_LT(errors[1], errors[0]);
  EXPECT_LT(errors[1], 0.5);
}

// Attention dynamics vs the naive softmax over tokens.
TEST(Drifts, AttentionMatchesTheNaiveSoftmax) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const auto x = cloud(ctx, 30, 3, 11);
  const std::vector<double> Q = {0.5, -0.2, 0.1, 0.3, 0.4, -0.6}, K = {0.2, 0.7, -0.3, -0.5, 0.1, 0.2};  // 2 x 3
  const std::vector<double> V = {0.1, 0.2, 0.0, -0.3, 0.5, 0.1, 0.0, 0.2, -0.4};                       // 3 x 3
  const ff::AttentionField<double> f(3, 2, Q, K, V);
  const auto v = f.evaluate(ctx, 0, x, velocity()).velocity;
  for (std::size_t i = 0; i < 30; ++i) {
    std::vector<long double> logit(30);
    long double mx = -1e300L;
    for (std::size_t j = 0; j < 30; ++j) {
      long double s = 0;
      for (std::size_t r = 0; r < 2; ++r) {
        long double qa = 0, kb = 0;
        for (std::size_t c = 0; c < 3; ++c) qa += Q[r * 3 + c] * x.at(i, c), kb += K[r * 3 + c] * x.at(j, c);
        s += qa * kb;
      }
      logit[j] = s;
      mx = std::max(mx, s);
    }
    long double den = 0, num[3] = {0, 0, 0};
    for (std::size_t j = 0; j < 30; ++j) {
      const long double w = std::exp(logit[j] - mx);
      den += w;
      for (std::size_t r = 0; r < 3; ++r)
        for (std::size_t c = 0; c < 3; ++c) num[r] += w * V[r * 3 + c] * x.at(j, c);
    }
    for (std::size_t r = 0; r < 3; ++r) EXPECT_NEAR(v.at(i, r), double(num[r] / den), 1e-9);
  }
  EXPECT_THROW(ff::AttentionField<double>(3, 2, Q, K, {1, 2}), fs::Error);
}

// Random batches of the data: the whole data set when the batch covers it, and
// an unbiased estimate of the full MMD field on average over fresh batches.
TEST(Drifts, RandomBatchesOfTheData) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const auto x = cloud(ctx, 20, 2, 12), y = cloud(ctx, 200, 2, 13, 0.5);
  ff::DriftOptions o;
  o.kernel = {Kernel::gaussian, 1.0};
  const auto full = ff::DriftField<double>(ctx, ff::Drift::mmd, o, &y).evaluate(ctx, 0, x, velocity()).velocity;
  o.batch = 200;  // all of it
  const auto all = ff::DriftField<double>(ctx, ff::Drift::mmd, o, &y).evaluate(ctx, 0, x, velocity()).velocity;
  for (std::size_t e = 0; e < full.size(); ++e) EXPECT_NEAR(all.data()[e], full.data()[e], 1e-12);
  o.batch = 20;
  const ff::DriftField<double> batched(ctx, ff::Drift::mmd, o, &y);
  std::vector<double> avg(full.size(), 0.0);
  const int draws = 2000;
  for (int r = 0; r < draws; ++r) {
    const auto v = batched.evaluate(ctx, 0, x, velocity()).velocity;
    for (std::size_t e = 0; e < avg.size(); ++e) avg[e] += v.data()[e] / draws;
  }
  // Each batch term is a mean of 20 of the 200 gradients; the average of 2000 batches has a standard
  // error of about 0.01 of the field's spread: 0.02 absolute is several standard errors.
  for (std::size_t e = 0; e < avg.size(); ++e) EXPECT_NEAR(avg[e], full.data()[e], 0.02) << e;
}
