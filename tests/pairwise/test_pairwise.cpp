// The pairwise engine against naive double loops, for every reduction and op,
// on sizes that are not multiples of the tiles, N or M = 1, the compile-time
// dimensions and the runtime-d path (d = 5, 65).
#include <gtest/gtest.h>

#include "typed.hpp"

#include <cmath>
#include <limits>
#include <random>
#include <tuple>

#include "flowsampler/core/error.hpp"
#include "flowsampler/pairwise/pairwise.hpp"
#include "pairwise/engine.hpp"
#include "pairwise/reference.hpp"

namespace fs = flowsampler;
using fs::test::Cloud;

namespace {

template <class Real>
struct Data {
  Cloud x, y;
  fs::ParticleSet<Real> X, Y;
};

template <class Real>
Data<Real> make(const fs::Context& ctx, std::size_t n, std::size_t m, std::size_t d, unsigned seed, double spread = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0.0, spread);
  Data<Real> out{{n, d, std::vector<double>(n * d)}, {m, d, std::vector<double>(m * d)}, {}, {}};
  std::vector<Real> xs(n * d), ys(m * d);
  for (std::size_t e = 0; e < n * d; ++e) xs[e] = Real(g(rng)), out.x.v[e] = xs[e];
  for (std::size_t e = 0; e < m * d; ++e) ys[e] = Real(g(rng)), out.y.v[e] = ys[e];
  out.X = fs::ParticleSet<Real>::from_column_major(ctx, xs.data(), n, d);
  out.Y = fs::ParticleSet<Real>::from_column_major(ctx, ys.data(), m, d);
  return out;
}

template <class Real>
double tol() {
  return sizeof(Real) == 4 ? 2e-5 : 1e-12;
}

using Shape = std::tuple<std::size_t, std::size_t, std::size_t>;  // n, m, d
const Shape shapes[] = {{1, 1, 1}, {7, 1, 2}, {1, 600, 3}, {130, 1030, 3}, {65, 513, 4}, {70, 129, 8},
                        {33, 70, 16}, {20, 40, 5}, {9, 31, 65}, {5, 17, 32}, {3, 9, 64}};

}  // namespace

template <class Real>
class PairwiseTest : public ::testing::Test {};
using flowsampler::test::Reals;
TYPED_TEST_SUITE(PairwiseTest, Reals);

TYPED_TEST(PairwiseTest, KernelSumsAndGradientsMatchNaiveLoops) {
  using Real = TypeParam;
  const fs::Context ctx = fs::Context::create(fs::Backend::automatic, 0, 2);
  for (const auto& [n, m, d] : shapes)
    for (auto kind : {fs::pairwise::Kernel::gaussian, fs::pairwise::Kernel::laplace, fs::pairwise::Kernel::imq,
                      fs::pairwise::Kernel::energy})
      for (bool weighted : {false, true}) {
        const double h = 0.7 * std::sqrt(double(d));
        auto data = make<Real>(ctx, n, m, d, 11 * n + m + d);
        std::vector<Real> w(m);
        for (std::size_t j = 0; j < m; ++j) w[j] = Real(0.25 + double(j % 7) / 4);
        const auto W = fs::ParticleSet<Real>::from_column_major(ctx, w.data(), m, 1);
        const fs::pairwise::KernelSpec spec{kind, h};
        const auto s = fs::pairwise::kernel_sum(ctx, spec, data.X, data.Y, weighted ? &W : nullptr).to_host();
        const auto g = fs::pairwise::kernel_grad_sum(ctx, spec, data.X, data.Y, weighted ? &W : nullptr).to_host();
        for (std::size_t i = 0; i < n; ++i) {
          double want = 0, scale = 0;
          std::vector<double> gw(d, 0.0), gscale(d, 0.0);
          for (std::size_t j = 0; j < m; ++j) {
            const double wj = weighted ? double(w[j]) : 1.0;
            const double kv = fs::test::kernel_value(kind, h, fs::test::sqdist(data.x, i, data.y, j));
            want += wj * kv, scale += std::fabs(wj * kv);
            const auto gj = fs::test::kernel_grad(kind, h, data.x, i, data.y, j);
            for (std::size_t k = 0; k < d; ++k) gw[k] += wj * gj[k], gscale[k] += std::fabs(wj * gj[k]);
          }
          ASSERT_NEAR(s[i], want, tol<Real>() * (scale + 1e-300) + 1e-300)
              << fs::pairwise::to_string(kind) << " n=" << n << " m=" << m << " d=" << d << " i=" << i;
          for (std::size_t k = 0; k < d; ++k)  // finite differences: 1e-8 relative on top
            ASSERT_NEAR(g[k * n + i], gw[k], (tol<Real>() + 1e-7) * (gscale[k] + 1e-12))
                << fs::pairwise::to_string(kind) << " grad n=" << n << " m=" << m << " d=" << d << " i=" << i;
        }
      }
}

namespace {

/// Mean shift (softmax over logits -|x_i - y_j|^2 / (2 eps^2) + lw_j of the
/// displacements y_j - x_i) of row i by a double loop: the lse, then the d means.
std::vector<double> naive_mean_shift(const Cloud& x, std::size_t i, const Cloud& y, double eps, const double* lw) {
  std::vector<double> l(y.n);
  double mx = -INFINITY;
  for (std::size_t j = 0; j < y.n; ++j) {
    l[j] = -fs::test::sqdist(x, i, y, j) / (2 * eps * eps) + (lw ? lw[j] : 0.0);
    mx = std::max(mx, l[j]);
  }
  double z = 0;
  std::vector<double> acc(x.d, 0.0);
  for (std::size_t j = 0; j < y.n; ++j) {
    const double e = std::exp(l[j] - mx);
    z += e;
    for (std::size_t k = 0; k < x.d; ++k) acc[k] += e * (y(j, k) - x(i, k));
  }
  std::vector<double> out{mx + std::log(z)};
  for (std::size_t k = 0; k < x.d; ++k) out.push_back(acc[k] / z);
  return out;
}

}  // namespace

TYPED_TEST(PairwiseTest, MeanShiftMatchesNaiveLoopWithWeightsAndMinusInf) {
  using Real = TypeParam;
  const fs::Context ctx = fs::Context::create(fs::Backend::automatic, 0, 2);
  for (const auto& [n, m, d] : shapes)
    for (double eps : {0.05, 0.8, 30.0})
      for (bool weighted : {false, true}) {
        auto data = make<Real>(ctx, n, m, d, 7 * n + m + 3 * d);
        std::vector<Real> lw(m);
        for (std::size_t j = 0; j < m; ++j)
          lw[j] = j % 5 == 1 ? -std::numeric_limits<Real>::infinity() : Real(std::log(0.5 + double(j % 3)));
        if (m == 1) lw[0] = Real(0.3);
        const auto LW = fs::ParticleSet<Real>::from_column_major(ctx, lw.data(), m, 1);
        const auto r = fs::pairwise::mean_shift(ctx, eps, data.X, data.Y, weighted ? &LW : nullptr);
        const auto mean = r.mean.to_host(), lse = r.lse.to_host();
        const std::vector<double> lwd(lw.begin(), lw.end());
        for (std::size_t i = 0; i < n; ++i) {
          const auto ref = naive_mean_shift(data.x, i, data.y, eps, weighted ? lwd.data() : nullptr);
          const double mx = std::fabs(ref[0]);  // the logits' scale
          // Logits reach |l| ~ 1e4 at eps = 0.05: lse carries that magnitude.
          ASSERT_NEAR(lse[i], ref[0], tol<Real>() * (mx + 1) * 8) << "n=" << n << " m=" << m << " d=" << d << " eps=" << eps;
          for (std::size_t k = 0; k < d; ++k)
            ASSERT_NEAR(mean[k * n + i], ref[1 + k], 50 * tol<Real>() * (1 + std::fabs(data.x(i, k))) * std::max(1.0, mx * 1e-3))
                << "n=" << n << " m=" << m << " d=" << d << " eps=" << eps << " i=" << i << " k=" << k;
        }
      }
}

// The soft-min (Sinkhorn's c-transform) against a double loop: lse_i = log
// sum_j exp(-|x_i - y_j|^2 / eps + lw_j) and the weighted mean of |x_i - y_j|^2,
// with some zero weights; softmin_lse gives the same lse without the mean.
TYPED_TEST(PairwiseTest, SoftminMatchesNaiveLoopWithAndWithoutTheMean) {
  using Real = TypeParam;
  const fs::Context ctx = fs::Context::create(fs::Backend::automatic, 0, 2);
  for (const auto& [n, m, d] : shapes)
    for (double eps : {0.1, 2.0}) {
      auto data = make<Real>(ctx, n, m, d, 5 * n + m + d);
      std::vector<Real> lw(m);
      for (std::size_t j = 0; j < m; ++j)
        lw[j] = j % 7 == 2 && m > 1 ? -std::numeric_limits<Real>::infinity() : Real(0.3 * double(j % 4) - 0.5);
      const auto LW = fs::ParticleSet<Real>::from_column_major(ctx, lw.data(), m, 1);
      const auto r = fs::pairwise::softmin_sqdist(ctx, eps, data.X, data.Y, LW);
      const auto lse = r.lse.to_host(), mean = r.mean.to_host();
      const auto lse_only = fs::pairwise::softmin_lse(ctx, eps, data.X, data.Y, LW).to_host();
      for (std::size_t i = 0; i < n; ++i) {
        double mx = -INFINITY;
        for (std::size_t j = 0; j < m; ++j) mx = std::max(mx, -fs::test::sqdist(data.x, i, data.y, j) / eps + double(lw[j]));
        double z = 0, c = 0;
        for (std::size_t j = 0; j < m; ++j) {
          const double r2 = fs::test::sqdist(data.x, i, data.y, j), e = std::exp(-r2 / eps + double(lw[j]) - mx);
          z += e, c += e * r2;
        }
        const double ref = mx + std::log(z), scale = std::fabs(mx) + 1;
        ASSERT_NEAR(lse[i], ref, 8 * tol<Real>() * scale) << "n=" << n << " m=" << m << " d=" << d << " eps=" << eps;
        ASSERT_NEAR(lse_only[i], ref, 8 * tol<Real>() * scale) << "n=" << n << " m=" << m << " d=" << d << " eps=" << eps;
        ASSERT_NEAR(mean[i], c / z, 50 * tol<Real>() * (c / z + eps)) << "n=" << n << " m=" << m << " d=" << d << " i=" << i;
      }
    }
  const auto one = make<Real>(ctx, 3, 4, 2, 1);
  const auto bad = fs::ParticleSet<Real>(ctx, 3, 1);
  EXPECT_THROW(fs::pairwise::softmin_lse(ctx, 1.0, one.X, one.Y, bad), fs::Error);
  EXPECT_THROW(fs::pairwise::softmin_lse(ctx, 0.0, one.X, one.Y, bad), fs::Error);
}

// Tile after tile the state is rescaled to a new max: y rows that come nearer
// tile by tile (at eps = 0.05 each tile's logits jump ~1e4 above the running
// max, at eps = 0.5 ~40), rows whose first tile has only zero weights
// (running max -inf while later tiles are finite) must still give the loop's
// values.
TYPED_TEST(PairwiseTest, MeanShiftWhenLaterTilesRiseFarAboveTheRunningMax) {
  using Real = TypeParam;
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const std::size_t n = 70, m = 2100, d = 3;
  for (double eps : {0.05, 0.5, 1.0})
    for (bool weighted : {false, true}) {
      auto data = make<Real>(ctx, n, m, d, 11 + m, 0.3);
      std::vector<Real> ys(m * d), lw(m);
      for (std::size_t j = 0; j < m; ++j) {
        const double far = 6.0 - 2.0 * double(j / 512);  // 6, 4, 2, 0, -2: each tile nearer than the one before
        for (std::size_t k = 0; k < d; ++k) ys[k * m + j] = Real(data.y(j, k) + (k == 0 ? far : 0.0));
        lw[j] = weighted && j < 512 ? -std::numeric_limits<Real>::infinity() : Real(0.1 * double(j % 3));
      }
      Cloud y{m, d, std::vector<double>(ys.begin(), ys.end())};
      const auto Y = fs::ParticleSet<Real>::from_column_major(ctx, ys.data(), m, d);
      const auto LW = fs::ParticleSet<Real>::from_column_major(ctx, lw.data(), m, 1);
      const auto r = fs::pairwise::mean_shift(ctx, eps, data.X, Y, weighted ? &LW : nullptr);
      const auto mean = r.mean.to_host(), lse = r.lse.to_host();
      const std::vector<double> lwd(lw.begin(), lw.end());
      for (std::size_t i = 0; i < n; ++i) {
        const auto ref = naive_mean_shift(data.x, i, y, eps, weighted ? lwd.data() : nullptr);
        ASSERT_NEAR(lse[i], ref[0], tol<Real>() * (std::fabs(ref[0]) + 1) * 8) << "eps=" << eps << " i=" << i;
        for (std::size_t k = 0; k < d; ++k)
          ASSERT_NEAR(mean[k * n + i], ref[1 + k], 50 * tol<Real>() * (1 + std::fabs(ref[1 + k])))
              << "eps=" << eps << " weighted=" << weighted << " i=" << i << " k=" << k;
      }
    }
}

// exclude_self: a set against itself without the pairs j = i, against the
// naive loop that skips them, with bandwidths small enough that the other
// points weigh 1e-30 and less beside the self pair (subtracting it would
// lose everything), both kernels, sizes across tile edges.
TYPED_TEST(PairwiseTest, MeanShiftWithoutSelfPairsMatchesNaiveLoop) {
  using Real = TypeParam;
  const fs::Context ctx = fs::Context::create(fs::Backend::automatic, 0, 2);
  for (const auto& [n, m_unused, d] : shapes) {
    (void)m_unused;
    auto data = make<Real>(ctx, n, 1, d, 11 * n + d);
    for (fs::pairwise::Kernel kind : {fs::pairwise::Kernel::gaussian, fs::pairwise::Kernel::laplace})
      for (double h : {0.02, 1.0}) {
        const auto r = fs::pairwise::mean_shift(ctx, fs::pairwise::KernelSpec{kind, h}, data.X, data.X, static_cast<const fs::ParticleSet<Real>*>(nullptr), true);
        const auto mean = r.mean.to_host(), lse = r.lse.to_host();
        for (std::size_t i = 0; i < n; ++i) {
          double mx = -INFINITY;
          std::vector<double> l(n, -INFINITY);
          for (std::size_t j = 0; j < n; ++j) {
            if (j == i) continue;
            const double r2 = fs::test::sqdist(data.x, i, data.x, j);
            l[j] = kind == fs::pairwise::Kernel::gaussian ? -r2 / (2 * h * h) : -std::sqrt(r2) / h;
            mx = std::max(mx, l[j]);
          }
          if (n == 1) {
            EXPECT_TRUE(std::isinf(double(lse[0])) && lse[0] < 0);
            for (std::size_t k = 0; k < d; ++k) EXPECT_EQ(mean[k], Real(0));
            continue;
          }
          double z = 0;
          std::vector<double> acc(d, 0.0);
          for (std::size_t j = 0; j < n; ++j) {
            if (j == i) continue;
            const double e = std::exp(l[j] - mx);
            z += e;
            for (std::size_t k = 0; k < d; ++k) acc[k] += e * (data.x(j, k) - data.x(i, k));
          }
          ASSERT_NEAR(lse[i], mx + std::log(z), tol<Real>() * (std::fabs(mx) + 1) * 8) << "n=" << n << " d=" << d << " h=" << h;
          for (std::size_t k = 0; k < d; ++k)
            ASSERT_NEAR(mean[k * n + i], acc[k] / z, 50 * tol<Real>() * (1 + std::fabs(acc[k] / z)) * std::max(1.0, std::fabs(mx) * 1e-3))
                << "n=" << n << " d=" << d << " h=" << h << " i=" << i;
        }
      }
  }
  auto data = make<Real>(ctx, 5, 6, 2, 1);
  EXPECT_THROW(fs::pairwise::mean_shift(ctx, fs::pairwise::KernelSpec{fs::pairwise::Kernel::gaussian, 1.0}, data.X, data.Y, static_cast<const fs::ParticleSet<Real>*>(nullptr), true), fs::Error);
}

TYPED_TEST(PairwiseTest, KminMatchesSortedDistances) {
  using Real = TypeParam;
  const fs::Context ctx = fs::Context::create(fs::Backend::automatic, 0, 2);
  for (const auto& [n, m, d] : shapes)
    for (int k : {1, 3, 32}) {
      auto data = make<Real>(ctx, n, m, d, 3 * n + 5 * m + d);
      const auto r = fs::pairwise::kmin_sqdist(ctx, data.X, data.Y, k);
      const auto dist = r.dist2.to_host();
      std::vector<std::uint32_t> idx(n * k);
      r.index.copy_to_host(idx.data());
      for (std::size_t i = 0; i < n; ++i) {
        std::vector<std::pair<double, std::uint32_t>> all;
        for (std::size_t j = 0; j < m; ++j) {
          // Distances as the engine sees them: in Real.
          Real s = 0;
          for (std::size_t c = 0; c < d; ++c) {
            const Real t = Real(data.x(i, c)) - Real(data.y(j, c));
            s += t * t;
          }
          all.push_back({double(s), std::uint32_t(j)});
        }
        std::stable_sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.first < b.first; });
        for (int t = 0; t < k; ++t) {
          if (std::size_t(t) < m) {
            EXPECT_NEAR(dist[t * n + i], all[t].first, 1e-5 * (1 + all[t].first)) << "n=" << n << " m=" << m << " d=" << d;
            EXPECT_NEAR(fs::test::sqdist(data.x, i, data.y, idx[t * n + i]), all[t].first, 1e-4 * (1 + all[t].first));
          } else {
            EXPECT_EQ(dist[t * n + i], std::numeric_limits<Real>::infinity());
            EXPECT_EQ(idx[t * n + i], 0xffffffffu);
          }
        }
      }
    }
}

// A softmax op whose logit is the payload: exercises logits of any magnitude.
template <class Real>
struct PayloadLogitOp {
  static constexpr int payload_dim(int) { return 1; }
  static constexpr int value_dim(int d) { return d; }
  template <int D, class X>
  Real logit(const X&, const Real*, const Real* py, int) const { return py[0]; }
  template <int D, class X, class A>
  void add(const X&, const Real* y, const Real*, int d, Real e, A& acc) const {
    for (int k = 0; k < fs::kernels::dim<D>(d); ++k) acc(k) += e * y[k];
  }
};

TYPED_TEST(PairwiseTest, SoftmaxIsExactForHugeLogitsAndDefinedForAllMinusInf) {
  using Real = TypeParam;
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const Real inf = std::numeric_limits<Real>::infinity();
  const std::size_t m = 1500, d = 2;
  auto data = make<Real>(ctx, 3, m, d, 1);
  for (Real base : {Real(-1e4), Real(1e4), -inf}) {
    std::vector<Real> logit(m);
    for (std::size_t j = 0; j < m; ++j)
      logit[j] = base == -inf ? -inf : base + Real(double(j % 13) - 6) + (j % 4 == 0 ? -inf : Real(0));
    const auto L = fs::ParticleSet<Real>::from_column_major(ctx, logit.data(), m, 1);
    fs::ParticleSet<Real> out(ctx, 3, d), lse(ctx, 3, 1);
    fs::pairwise::detail::run<fs::kernels::Reduction::softmax>(ctx, PayloadLogitOp<Real>{}, data.X, data.Y, L.data(),
                                                               out.data(), lse.data());
    if (base == -inf) {
      for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(lse.at(i, 0), -inf);
        for (std::size_t k = 0; k < d; ++k) EXPECT_EQ(out.at(i, k), Real(0));
      }
      continue;
    }
    double z = 0;
    std::vector<double> acc(d, 0.0);
    for (std::size_t j = 0; j < m; ++j) {
      const double e = std::exp(double(logit[j]) - double(base) - 6);
      z += e;
      for (std::size_t k = 0; k < d; ++k) acc[k] += e * data.y(j, k);
    }
    for (std::size_t i = 0; i < 3; ++i) {
      EXPECT_NEAR(lse.at(i, 0), double(base) + 6 + std::log(z), 1e-3 * (sizeof(Real) == 4 ? 1 : 1e-6));
      for (std::size_t k = 0; k < d; ++k) EXPECT_NEAR(out.at(i, k), acc[k] / z, tol<Real>());
    }
  }
}

// Documented float accuracy: M = 2^16 positive terms within 1e-5 relative.
TEST(PairwiseFloat, LongSumsStayAccurate) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  auto data = make<float>(ctx, 64, 1 << 16, 3, 5);
  const auto s = fs::pairwise::kernel_sum(ctx, {fs::pairwise::Kernel::gaussian, 2.0}, data.X, data.Y).to_host();
  for (std::size_t i = 0; i < 64; ++i) {
    double want = 0;
    for (std::size_t j = 0; j < data.y.n; ++j) want += std::exp(-fs::test::sqdist(data.x, i, data.y, j) / 8);
    EXPECT_NEAR(s[i], want, 1e-5 * want);
  }
}

TEST(PairwiseErrors, ShapesEmptyInputsAndParameters) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu);
  auto a = make<double>(ctx, 4, 5, 3, 1);
  auto b = make<double>(ctx, 4, 5, 2, 2);
  const fs::pairwise::KernelSpec g{};
  EXPECT_THROW(fs::pairwise::kernel_sum(ctx, g, a.X, b.Y), fs::Error);
  EXPECT_THROW(fs::pairwise::kernel_sum(ctx, {fs::pairwise::Kernel::gaussian, 0.0}, a.X, a.Y), fs::Error);
  EXPECT_THROW(fs::pairwise::kernel_sum(ctx, {fs::pairwise::Kernel::gaussian, NAN}, a.X, a.Y), fs::Error);
  fs::ParticleSet<double> bad_w(ctx, 4, 1);
  EXPECT_THROW(fs::pairwise::kernel_sum(ctx, g, a.X, a.Y, &bad_w), fs::Error);
  fs::ParticleSet<double> empty(ctx, 0, 3);
  const auto z = fs::pairwise::kernel_sum(ctx, g, a.X, empty).to_host();
  EXPECT_EQ(z, std::vector<double>(4, 0.0));
  EXPECT_EQ(fs::pairwise::kernel_grad_sum(ctx, g, a.X, empty).to_host(), std::vector<double>(12, 0.0));
  try {
    fs::pairwise::mean_shift(ctx, 1.0, a.X, empty);
    FAIL();
  } catch (const fs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("M = 0"), std::string::npos);
  }
  EXPECT_THROW(fs::pairwise::mean_shift(ctx, -1.0, a.X, a.Y), fs::Error);
  EXPECT_THROW(fs::pairwise::kmin_sqdist(ctx, a.X, a.Y, 0), fs::Error);
  EXPECT_THROW(fs::pairwise::kmin_sqdist(ctx, a.X, a.Y, 33), fs::Error);
  EXPECT_EQ(fs::pairwise::parse_kernel("imq"), fs::pairwise::Kernel::imq);
  EXPECT_THROW(fs::pairwise::parse_kernel("rbf"), fs::Error);
}
