// Wide tiles by distance (src/cpu/distance_tile.hpp): the GEMM form of r2
// against a double loop on data where it is hard (near pairs, an offset far
// larger than the spread, exact duplicates), and the engine's kernel sums,
// gradients and mean shift on such data against naive double loops, at a
// compile-time (32) and a runtime (40) dimension.
#include <gtest/gtest.h>

#include "typed.hpp"

#include <cmath>
#include <limits>
#include <random>

#include "cpu/distance_tile.hpp"
#include "flowsampler/pairwise/pairwise.hpp"
#include "pairwise/ops.hpp"
#include "pairwise/reference.hpp"

namespace fs = flowsampler;
namespace cpu = flowsampler::cpu;
namespace kn = flowsampler::kernels;
using fs::test::Cloud;

namespace {

/// n x d points around `offset`: half of y are x's rows moved by `near`
/// (near pairs, duplicates when near = 0), the rest independent, all with unit spread.
struct Hard {
  Cloud x, y;
};

Hard hard_data(std::size_t n, std::size_t m, std::size_t d, double offset, double near, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g;
  Hard h{{n, d, std::vector<double>(n * d)}, {m, d, std::vector<double>(m * d)}};
  for (auto& v : h.x.v) v = offset + g(rng);
  for (std::size_t j = 0; j < m; ++j)
    for (std::size_t k = 0; k < d; ++k)
      h.y.v[k * m + j] = j % 2 == 0 ? h.x(j % n, k) + near * g(rng) : offset + g(rng);
  return h;
}

template <class Real>
std::vector<Real> as(const std::vector<double>& v) {
  return std::vector<Real>(v.begin(), v.end());
}

template <class Real>
double unit() {
  return std::numeric_limits<Real>::epsilon() / 2;
}

}  // namespace

template <class Real>
class PairwiseWideTest : public ::testing::Test {};
TYPED_TEST_SUITE(PairwiseWideTest, flowsampler::test::Reals);

// Every r2 of a block against a run within 8 d u of the exact |x - y|^2 of
// the rounded inputs (the GEMM form alone errs by up to d u times the norms'
// sum: near pairs and duplicates, which the rescan takes pair by pair).
TYPED_TEST(PairwiseWideTest, GemmFormSquaredDistancesStayWithinTheirBound) {
  using Real = TypeParam;
  for (std::size_t d : {32u, 40u})
    for (double offset : {0.0, 1e3})
      for (double near : {0.0, 1e-3, 0.1}) {
        const std::size_t n = 70, m = 64;
        const Hard h = hard_data(n, m, d, offset, near, unsigned(d + 7 * near * 1e3));
        const auto xs = as<Real>(h.x.v), ys = as<Real>(h.y.v);
        std::vector<Real> y_rows((m + cpu::detail::row_padding) * d, Real(0));
        for (std::size_t j = 0; j < m; ++j)
          for (std::size_t k = 0; k < d; ++k) y_rows[j * d + k] = ys[k * m + j];
        const kn::KernelSumOp<kn::KernelKind::gaussian, Real, false> op{{Real(1), Real(1)}};
        const cpu::DistanceRows<Real> rows(op, y_rows.data(), nullptr, m, int(d));
        const cpu::PairwiseArgs<Real> a{xs.data(), n, y_rows.data(), nullptr, m, int(d), 1, false, &rows};
        cpu::DistanceBlock<Real> b(64, a, m);
        b.load(a, 0, 64);
        cpu::detail::sqdist_rows<0>(b, 64, rows.y.data(), rows.yn.data(), y_rows.data(), int(m), int(d));
        double worst = 0;
        for (std::size_t i = 0; i < 64; ++i)
          for (std::size_t j = 0; j < m; ++j) {
            double want = 0;
            for (std::size_t k = 0; k < d; ++k) {
              const double t = double(xs[k * n + i]) - double(ys[k * m + j]);
              want += t * t;
            }
            const double got = double(b.r2[j * b.B + i]);
            if (want == 0) {
              ASSERT_EQ(got, 0.0) << "d=" << d << " offset=" << offset << " i=" << i << " j=" << j;
              continue;
            }
            worst = std::max(worst, std::fabs(got - want) / want);
          }
        // The centring rounds each coordinate once more: 8 d u leaves room for it.
        // (Near pairs retaken from the centred coordinates erred by 2e3 u.)
        EXPECT_LE(worst, 8 * double(d) * unit<Real>()) << "d=" << d << " offset=" << offset << " near=" << near;
      }
}

// The engine on the same kind of data, through the public calls.
TYPED_TEST(PairwiseWideTest, SumsGradientsAndMeanShiftOnNearAndOffsetPoints) {
  using Real = TypeParam;
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const double tol = sizeof(Real) == 4 ? 5e-5 : 1e-11;
  for (std::size_t d : {32u, 40u})
    for (double offset : {0.0, 1e3}) {
      const std::size_t n = 90, m = 700;
      const Hard h = hard_data(n, m, d, offset, 1e-2, unsigned(3 * d));
      const auto xs = as<Real>(h.x.v), ys = as<Real>(h.y.v);
      // The reference takes the rounded inputs.
      const Cloud x{n, d, std::vector<double>(xs.begin(), xs.end())}, y{m, d, std::vector<double>(ys.begin(), ys.end())};
      const auto X = fs::ParticleSet<Real>::from_column_major(ctx, xs.data(), n, d);
      const auto Y = fs::ParticleSet<Real>::from_column_major(ctx, ys.data(), m, d);
      const double bw = 0.5 * std::sqrt(double(d));
      const fs::pairwise::KernelSpec spec{fs::pairwise::Kernel::gaussian, bw};
      const auto s = fs::pairwise::kernel_sum(ctx, spec, X, Y).to_host();
      const auto g = fs::pairwise::kernel_grad_sum(ctx, spec, X, Y).to_host();
      const auto ms = fs::pairwise::mean_shift(ctx, bw, X, Y).mean.to_host();
      for (std::size_t i = 0; i < n; ++i) {
        double want = 0, z = 0, mx = -INFINITY;
        std::vector<double> gw(d, 0.0), gscale(d, 0.0), shift(d, 0.0), sscale(d, 0.0), r2(m);
        for (std::size_t j = 0; j < m; ++j) {
          r2[j] = fs::test::sqdist(x, i, y, j);
          mx = std::max(mx, -r2[j] / (2 * bw * bw));
          const double kv = std::exp(-r2[j] / (2 * bw * bw));
          want += kv;
          for (std::size_t k = 0; k < d; ++k) {
            const double gk = -kv / (bw * bw) * (x(i, k) - y(j, k));
            gw[k] += gk, gscale[k] += std::fabs(gk);
          }
        }
        for (std::size_t j = 0; j < m; ++j) {
          const double e = std::exp(-r2[j] / (2 * bw * bw) - mx);
          z += e;
          for (std::size_t k = 0; k < d; ++k) shift[k] += e * (y(j, k) - x(i, k)), sscale[k] += e * std::fabs(y(j, k) - x(i, k));
        }
        ASSERT_NEAR(s[i], want, tol * want) << "d=" << d << " offset=" << offset << " i=" << i;
        for (std::size_t k = 0; k < d; ++k) {
          ASSERT_NEAR(g[k * n + i], gw[k], tol * gscale[k]) << "grad d=" << d << " offset=" << offset << " i=" << i;
          // The GEMM form sums w (y - c) and subtracts (x - c) sum w: the
          // mean's rounding scales with the spread about c, not with |y - x|.
          ASSERT_NEAR(ms[k * n + i], shift[k] / z, tol * (sscale[k] / z + 1))
              << "mean shift d=" << d << " offset=" << offset << " i=" << i << " k=" << k;
        }
      }
    }
}
