// Log-domain Sinkhorn against a dense long-double reference and, as eps -> 0,
// against the exact W2^2 by brute force over permutations.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "flowsampler/core/error.hpp"
#include "flowsampler/metrics/sinkhorn.hpp"

namespace fs = flowsampler;
namespace fm = flowsampler::metrics;

namespace {

template <class Real>
fs::ParticleSet<Real> cloud(const fs::Context& ctx, std::size_t n, std::size_t d, unsigned seed, double shift = 0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> n01;
  std::vector<Real> cols(n * d);
  for (auto& c : cols) c = static_cast<Real>(shift + n01(rng));
  return fs::ParticleSet<Real>::from_column_major(ctx, cols.data(), n, d);
}

using Mat = std::vector<std::vector<long double>>;

template <class Real>
Mat costs(const fs::ParticleSet<Real>& x, const fs::ParticleSet<Real>& y) {
  Mat C(x.n(), std::vector<long double>(y.n()));
  for (std::size_t i = 0; i < x.n(); ++i)
    for (std::size_t j = 0; j < y.n(); ++j)
      for (std::size_t k = 0; k < x.d(); ++k) C[i][j] += std::pow((long double)x.at(i, k) - (long double)y.at(j, k), 2);
  return C;
}

// Dense log-domain Sinkhorn (plain alternating updates, many iterations) in long double.
struct Dense {
  std::vector<long double> f, g;
  long double ot = 0, cost = 0;
};
Dense dense_sinkhorn(const Mat& C, long double eps) {
  const std::size_t n = C.size(), m = C[0].size();
  Dense r{std::vector<long double>(n, 0), std::vector<long double>(m, 0)};
  for (int it = 0; it < 20000; ++it) {
    for (std::size_t i = 0; i < n; ++i) {
      long double s = 0;
      for (std::size_t j = 0; j < m; ++j) s += std::exp((r.g[j] - C[i][j]) / eps) / m;
      r.f[i] = -eps * std::log(s);
    }
    for (std::size_t j = 0; j < m; ++j) {
      long double s = 0;
      for (std::size_t i = 0; i < n; ++i) s += std::exp((r.f[i] - C[i][j]) / eps) / n;
      r.g[j] = -eps * std::log(s);
    }
  }
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < m; ++j) {
      const long double p = std::exp((r.f[i] + r.g[j] - C[i][j]) / eps) / (n * m);
      r.cost += p * C[i][j];
    }
  r.ot = std::accumulate(r.f.begin(), r.f.end(), 0.0L) / n + std::accumulate(r.g.begin(), r.g.end(), 0.0L) / m;
  return r;
}

}  // namespace

TEST(Sinkhorn, MatchesADenseReference) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const auto x = cloud<double>(ctx, 7, 2, 1), y = cloud<double>(ctx, 5, 2, 2, 0.7);
  const Mat C = costs(x, y);
  for (double eps : {2.0, 0.5, 0.1}) {
    fm::SinkhornOptions o;
    o.eps = eps;
    o.tol = 1e-12;
    const auto r = fm::sinkhorn(ctx, x, y, o);
    const Dense ref = dense_sinkhorn(C, eps);
    EXPECT_NEAR(r.ot, double(ref.ot), 1e-9) << eps;
    EXPECT_NEAR(r.cost, double(ref.cost), 1e-9) << eps;
    // Potentials are unique up to f + c, g - c.
    const std::vector<double> f = r.f.to_host(), g = r.g.to_host();
    const double c = f[0] - double(ref.f[0]);
    for (std::size_t i = 0; i < 7; ++i) EXPECT_NEAR(f[i] - c, double(ref.f[i]), 1e-8);
    for (std::size_t j = 0; j < 5; ++j) EXPECT_NEAR(g[j] + c, double(ref.g[j]), 1e-8);
  }
}

TEST(Sinkhorn, CostTendsToTheExactW2AsEpsVanishes) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const std::size_t n = 7;
  const auto x = cloud<double>(ctx, n, 2, 3), y = cloud<double>(ctx, n, 2, 4, 0.5);
  const Mat C = costs(x, y);
  std::vector<std::size_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  long double best = INFINITY;
  do {
    long double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += C[i][perm[i]];
    best = std::min(best, s / n);
  } while (std::next_permutation(perm.begin(), perm.end()));
  std::vector<double> gaps;
  for (double eps : {0.1, 0.01, 0.001}) {
    fm::SinkhornOptions o;
    o.eps = eps;
    // The marginal error decays like 1 / iterations on this tiny problem at
    // eps <= 0.01 (1e-5 takes about 1e5 iterations): tol bounds what the cost can show.
    o.tol = 1e-4;
    o.max_iter = 200000;
    const auto r = fm::sinkhorn(ctx, x, y, o);
    const double gap = std::fabs(r.cost - double(best));
    std::printf("eps %.0e: cost %.6f exact W2^2 %.6f gap %.2e, %d iterations, %d stages\n", eps, r.cost, double(best),
                gap, r.iterations, r.stages);
    gaps.push_back(gap);
  }
  EXPECT_GT(gaps[0], 1e-2);  // the entropic bias at eps = 0.1 is visible
  EXPECT_LT(gaps[1], 1e-3);
  EXPECT_LT(gaps[2], 1e-3);
}

// Float at eps = 1e-3 diameter^2 on a spread-out cloud: converges, no
// overflow, and agrees with double; the divergence of a cloud with itself is 0.
TEST(Sinkhorn, FloatAtSmallEpsAndTheDivergence) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const auto xd = cloud<double>(ctx, 300, 3, 5, 100.0), yd = cloud<double>(ctx, 250, 3, 6, 101.0);
  const std::vector<double> xh = xd.to_host(), yh = yd.to_host();
  const auto xf = fs::ParticleSet<float>::from_column_major(ctx, std::vector<float>(xh.begin(), xh.end()).data(), 300, 3);
  const auto yf = fs::ParticleSet<float>::from_column_major(ctx, std::vector<float>(yh.begin(), yh.end()).data(), 250, 3);
  fm::SinkhornOptions o;
  o.eps = 1e-3 * 60.0;  // the squared diameter of these clouds is about 60-80
  o.tol = 1e-4;
  const auto rd = fm::sinkhorn(ctx, xd, yd, o);
  const auto rf = fm::sinkhorn(ctx, xf, yf, o);
  ASSERT_TRUE(std::isfinite(rf.ot) && std::isfinite(rf.cost) && std::isfinite(rf.divergence));
  EXPECT_NEAR(rf.cost, rd.cost, 1e-3 * rd.cost);
  EXPECT_NEAR(rf.divergence, rd.divergence, 2e-3 * rd.cost);
  EXPECT_GT(rd.divergence, 0.0);
  o.eps = 0.5;
  o.tol = 1e-9;
  EXPECT_NEAR(fm::sinkhorn(ctx, xd, xd, o).divergence, 0.0, 1e-7);
  EXPECT_THROW(fm::sinkhorn(ctx, xd, cloud<double>(ctx, 5, 2, 1), o), fs::Error);
  EXPECT_THROW(fm::sinkhorn(ctx, xd, fs::ParticleSet<double>(ctx, 0, 3), o), fs::Error);
  o.eps = 0;
  EXPECT_THROW(fm::sinkhorn(ctx, xd, yd, o), fs::Error);
  o.eps = -1;
  EXPECT_THROW(fm::sinkhorn(ctx, xd, yd, o), fs::Error);
  o.eps = 1;
  o.scaling = 1;
  EXPECT_THROW(fm::sinkhorn(ctx, xd, yd, o), fs::Error);
}

// Many tiles at small eps, where the solve runs on the clouds in Hilbert
// order and its soft-mins leave out far spans: the potentials it returns, in
// the caller's order, must satisfy the Sinkhorn equations by double loops
// over the original rows: P 1 = a to the tolerance (the stopping rule), P^T 1
// = b nearly so (g is the last update, over-relaxed toward T(f)); the cost
// is <P, C> of that plan. Also the self potential p = T(p).
TEST(Sinkhorn, OnManyTilesAtSmallEpsThePotentialsSolveTheEquationsInTheCallersOrder) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const std::size_t n = 1500, m = 1300;
  const auto x = cloud<double>(ctx, n, 2, 7), y = cloud<double>(ctx, m, 2, 8, 0.5);
  fm::SinkhornOptions o;
  o.eps = 0.01;
  o.tol = 1e-6;
  o.debias = false;
  const auto r = fm::sinkhorn(ctx, x, y, o);
  const std::vector<double> f = r.f.to_host(), g = r.g.to_host();
  auto c = [&](std::size_t i, std::size_t j) {
    return std::pow(x.at(i, 0) - y.at(j, 0), 2) + std::pow(x.at(i, 1) - y.at(j, 1), 2);
  };
  double column_error = 0, worst_row = 0, cost = 0;
  for (std::size_t j = 0; j < m; ++j) {
    double col = 0;
    for (std::size_t i = 0; i < n; ++i) col += std::exp((f[i] + g[j] - c(i, j)) / o.eps) / double(n);
    column_error += std::fabs(col - 1) / double(m);
  }
  for (std::size_t i = 0; i < n; ++i) {
    double row = 0;
    for (std::size_t j = 0; j < m; ++j) {
      const double p = std::exp((f[i] + g[j] - c(i, j)) / o.eps) / double(m);
      row += p, cost += p * c(i, j) / double(n);
    }
    worst_row += std::fabs(row - 1) / double(n);
  }
  EXPECT_LT(worst_row, o.tol);
  EXPECT_LT(column_error, 10 * o.tol);
  EXPECT_NEAR(r.cost, cost, 1e-9 * cost);
  // The self potential p = T(p) (averaged updates), in x's order.
  o.tol = 1e-8;
  const std::vector<double> p = fm::sinkhorn_self_potential(ctx, x, o).to_host();
  double worst_p = 0;
  for (std::size_t j = 0; j < n; ++j) {
    auto cxx = [&](std::size_t i) { return std::pow(x.at(i, 0) - x.at(j, 0), 2) + std::pow(x.at(i, 1) - x.at(j, 1), 2); };
    double mx = -INFINITY;
    for (std::size_t i = 0; i < n; ++i) mx = std::max(mx, (p[i] - cxx(i)) / o.eps);
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += std::exp((p[i] - cxx(i)) / o.eps - mx);
    worst_p = std::max(worst_p, std::fabs(p[j] + o.eps * (mx + std::log(s / double(n)))));
  }
  EXPECT_LT(worst_p, 1e-6);
}
