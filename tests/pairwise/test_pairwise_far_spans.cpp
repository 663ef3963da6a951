// Skipping far spans (src/cpu/span_bounds.hpp) on clouds in Hilbert order
// (kernels/cloud/spatial_order.hpp):
// - the Hilbert keys visit a grid's cells as neighbours, once each;
// - a span's bound is at least every logit of the span, for any block;
// - the softmax that skips spans matches a double loop and the same engine
//   without bounds, and does skip most spans where they are far.
#include <gtest/gtest.h>

#include "typed.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "cloud/spatial_order.hpp"
#include "cpu/pairwise.hpp"
#include "pairwise/ops.hpp"

namespace cpu = flowsampler::cpu;
namespace kn = flowsampler::kernels;

namespace {

// Row order of n points (column-major, d columns; the first 8 at most) by
// their Hilbert keys on a grid of 2^bits cells per axis of side 1 / scale from `lo`.
template <class Real>
std::vector<std::size_t> hilbert_rows(const std::vector<Real>& x, std::size_t n, int d, int bits, double lo, double scale) {
  int index_bits = 1;
  while ((std::uint64_t(1) << index_bits) < n) ++index_bits;
  d = std::min(d, kn::HilbertKeys<Real>::max_dims);
  EXPECT_LE(bits * d + index_bits, 52);
  std::vector<double> key(n);
  kn::HilbertKeys<Real> f{key.data(), x.data(), n, d, bits, index_bits, {}, scale};
  for (int k = 0; k < d; ++k) f.lo[k] = lo;
  for (std::size_t i = 0; i < n; ++i) f(i);
  std::sort(key.begin(), key.end());
  std::vector<std::size_t> rows(n);
  for (std::size_t i = 0; i < n; ++i) rows[i] = kn::key_row(key[i], (std::uint64_t(1) << index_bits) - 1);
  return rows;
}

// Every cell of a 2^bits grid in d dimensions, at its centre; the Hilbert
// order must visit them all, each step to a face neighbour.
void check_grid_walk(int d, int bits) {
  const std::size_t side = std::size_t(1) << bits, n = std::size_t(std::pow(double(side), d));
  std::vector<double> x(n * d);
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t c = i;
    for (int k = 0; k < d; ++k, c /= side) x[k * n + i] = double(c % side) + 0.5;
  }
  const auto rows = hilbert_rows(x, n, d, bits, 0.0, 1.0);
  std::vector<std::size_t> seen(rows);
  std::sort(seen.begin(), seen.end());
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(seen[i], i) << "d=" << d;
  for (std::size_t i = 1; i < n; ++i) {
    double steps = 0;
    for (int k = 0; k < d; ++k) steps += std::fabs(x[k * n + rows[i]] - x[k * n + rows[i - 1]]);
    ASSERT_EQ(steps, 1.0) << "d=" << d << " step " << i;
  }
}

template <class Real>
struct Clouds {
  std::size_t n, m;
  int d;
  std::vector<Real> x;   // n x d column-major
  std::vector<Real> y;   // m x d row-major, padded
  std::vector<Real> py;  // m x 1 log-weights, padded
  double xd(std::size_t i, int k) const { return double(x[std::size_t(k) * n + i]); }
  double yd(std::size_t j, int k) const { return double(y[j * std::size_t(d) + std::size_t(k)]); }
  cpu::PairwiseArgs<Real> args(bool same, int threads = 2) const {
    return {x.data(), n, y.data(), py.data(), m, d, threads, same};
  }
};

// Normal clouds (y shifted by 0.3) each in Hilbert order, log-weights in
// [-1, 1]; with `same`, y is x.
template <class Real>
Clouds<Real> ordered_clouds(std::size_t n, std::size_t m, int d, unsigned seed, bool same) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g;
  std::uniform_real_distribution<double> u(-1, 1);
  auto ordered = [&](std::size_t rows, double shift) {
    std::vector<Real> v(rows * d), out(rows * d);
    for (auto& e : v) e = Real(shift + g(rng));
    // Up to 3 axes, 10 bits each, over [-8, 8): the keys' 30 bits and the row's fit in 52.
    const auto order = hilbert_rows(v, rows, std::min(d, 3), 10, -8.0, 1024.0 / 16.0);
    for (std::size_t i = 0; i < rows; ++i)
      for (int k = 0; k < d; ++k) out[k * rows + i] = v[k * rows + order[i]];
    return out;
  };
  Clouds<Real> c{n, same ? n : m, d, ordered(n, 0.0), {}, {}};
  const std::vector<Real> yc = same ? c.x : ordered(c.m, 0.3);
  c.y.assign((c.m + cpu::detail::row_padding) * d, Real(0));
  for (std::size_t j = 0; j < c.m; ++j)
    for (int k = 0; k < d; ++k) c.y[j * d + k] = yc[k * c.m + j];
  c.py.assign(c.m + cpu::detail::row_padding, Real(0));
  for (std::size_t j = 0; j < c.m; ++j) c.py[j] = Real(u(rng));
  return c;
}

}  // namespace

TEST(HilbertKeys, VisitEveryGridCellOnceStepByStepToANeighbour) {
  check_grid_walk(1, 5);
  check_grid_walk(2, 4);
  check_grid_walk(3, 3);
  check_grid_walk(4, 2);
}

template <class Real>
class FarSpans : public ::testing::Test {};
TYPED_TEST_SUITE(FarSpans, flowsampler::test::Reals);

// For every x row and every span: the bound against every pair's logit,
// recomputed in double, for the soft-min (quadratic: the plane's bound), the
// Laplace mean shift (the plain one) and the Gaussian one with a row of
// weight 0; a NaN log-weight leaves its span unbounded.
template <class Real, class Op, class Logit>
void check_bound(const Op& op, Logit logit, bool nan_row) {
  auto c = ordered_clouds<Real>(640, 1100, 3, 5, false);
  // Potentials with a slope and a bend, as Sinkhorn's: a far from constant on a span.
  for (std::size_t j = 0; j < c.m; ++j) c.py[j] += Real(40 * c.yd(j, 0) - 15 * c.yd(j, 1) * c.yd(j, 1));
  c.py[300] = Real(-INFINITY);
  if (nan_row) c.py[700] = Real(NAN);
  const cpu::SpanBounds<Real> b(op, c.y.data(), c.py.data(), c.m, c.d);
  const std::size_t spans = (c.m + cpu::detail::span_rows - 1) / cpu::detail::span_rows;
  std::size_t tight = 0;
  for (std::size_t i = 0; i < c.n; ++i)
    for (std::size_t t = 0; t < spans; ++t) {
      const double u = b.at(op, c.x.data() + i, c.n, t);
      if (nan_row && t == 700 / cpu::detail::span_rows) {
        ASSERT_EQ(u, INFINITY);
        continue;
      }
      double worst = -INFINITY;
      for (std::size_t j = t * cpu::detail::span_rows; j < std::min(c.m, (t + 1) * cpu::detail::span_rows); ++j) {
        double r2 = 0;
        for (int k = 0; k < 3; ++k) r2 += (c.xd(i, k) - c.yd(j, k)) * (c.xd(i, k) - c.yd(j, k));
        worst = std::max(worst, logit(r2, double(c.py[j])));
      }
      ASSERT_GE(u, worst - 1e-5 * std::fabs(worst)) << "row " << i << " span " << t;
      tight += u < worst + 20;
    }
  EXPECT_GT(tight, c.n * spans / 4);  // often within 20 of the largest logit (measured 38-50%): not a trivial bound
}

TYPED_TEST(FarSpans, BoundHoldsEveryLogitOfTheSpan) {
  using Real = TypeParam;
  const double eps = 0.05, h = 0.2;
  check_bound<Real>(kn::SoftminSqDistOp<Real>{Real(-1 / eps)}, [&](double r2, double a) { return -r2 / eps + a; }, true);
  check_bound<Real>(kn::MeanShiftOp<Real, true>{Real(-1 / (2 * h * h))}, [&](double r2, double a) { return -r2 / (2 * h * h) + a; },
                    false);
  check_bound<Real>(kn::MeanShiftOp<Real, true, true>{Real(-1 / h)}, [&](double r2, double a) { return -std::sqrt(r2) / h + a; },
                    true);
}

// Soft-min (Sinkhorn's c-transform) and the weighted Gaussian mean shift over
// a set and itself, at small eps on ordered clouds: the outputs against a
// double loop and against the engine without bounds, and the count of
// spans the blocks left out.
template <int D, class Real, class Op>
void check_skipping(const Op& op, double inv_scale, bool same, int d, double min_skipped) {
  const auto c = ordered_clouds<Real>(900, 2600, d, 17 + unsigned(d), same);
  const int p = Op::value_dim(d);
  std::vector<double> lse(c.n), mean(c.n * p), scale(c.n * p);
  for (std::size_t i = 0; i < c.n; ++i) {
    std::vector<double> l(c.m, -INFINITY);
    double mx = -INFINITY;
    for (std::size_t j = 0; j < c.m; ++j) {
      if (same && j == i) continue;
      double r2 = 0;
      for (int k = 0; k < d; ++k) r2 += (c.xd(i, k) - c.yd(j, k)) * (c.xd(i, k) - c.yd(j, k));
      l[j] = -r2 * inv_scale + double(c.py[j]);
      mx = std::max(mx, l[j]);
    }
    double z = 0;
    for (std::size_t j = 0; j < c.m; ++j) {
      const double e = std::exp(l[j] - mx);
      z += e;
      double r2 = 0;
      for (int q = 0; q < d; ++q) r2 += (c.xd(i, q) - c.yd(j, q)) * (c.xd(i, q) - c.yd(j, q));
      for (int k = 0; k < p; ++k) {
        const double v = p == 1 ? r2 : c.yd(j, k) - c.xd(i, k);
        mean[k * c.n + i] += e * v, scale[k * c.n + i] += e * std::fabs(v);
      }
    }
    for (int k = 0; k < p; ++k) mean[k * c.n + i] /= z, scale[k * c.n + i] /= z;
    lse[i] = mx + std::log(z);
  }
  using Policy = cpu::SoftmaxPolicy<D, Op, Real>;
  std::vector<Real> out(c.n * p), ls(c.n), out0(c.n * p), ls0(c.n);
  const Policy pol(op, d, out.data(), ls.data()), pol0(op, d, out0.data(), ls0.data());
  // One thread, so that the blocks' counts add up without a race.
  const auto a1 = c.args(same, 1);
  std::size_t skipped = 0, spans = 0;
  cpu::with_row_tables(pol, a1, [&](const cpu::PairwiseArgs<Real>& a) {
    ASSERT_NE(a.bounds, nullptr);
    cpu::detail::tiled(pol, a, 0, a.m, [&](const typename Policy::Lanes& lanes, std::size_t i0, std::size_t len) {
      skipped += lanes.skipped;
      spans += (a.m + cpu::detail::span_rows - 1) / cpu::detail::span_rows;
      pol.finish(lanes.st, a, i0, len);
    });
  });
  auto a0 = c.args(same);
  if constexpr (Policy::distance) {
    const cpu::DistanceRows<Real> rows(op, c.y.data(), c.py.data(), c.m, d);
    a0.dist = &rows;
    cpu::detail::tiled(pol0, a0, 0, a0.m, [&](const typename Policy::Lanes& lanes, std::size_t i0, std::size_t len) {
      pol0.finish(lanes.st, a0, i0, len);
    });
  } else {
    cpu::detail::tiled(pol0, a0, 0, a0.m, [&](const typename Policy::Lanes& lanes, std::size_t i0, std::size_t len) {
      pol0.finish(lanes.st, a0, i0, len);
    });
  }
  const double rt = sizeof(Real) == 4 ? 2e-5 : 1e-11;
  for (std::size_t i = 0; i < c.n; ++i) {
    ASSERT_NEAR(ls[i], lse[i], rt * (1 + std::fabs(lse[i]))) << "d=" << d << " i=" << i;
    ASSERT_NEAR(ls[i], ls0[i], rt * (1 + std::fabs(lse[i]))) << "d=" << d << " i=" << i;
    for (int k = 0; k < p; ++k) {
      ASSERT_NEAR(out[k * c.n + i], mean[k * c.n + i], rt * scale[k * c.n + i] + 1e-30) << "d=" << d << " i=" << i;
      ASSERT_NEAR(out[k * c.n + i], out0[k * c.n + i], rt * scale[k * c.n + i] + 1e-30) << "d=" << d << " i=" << i;
    }
  }
  EXPECT_GE(double(skipped), min_skipped * double(spans)) << "d=" << d << ": " << skipped << " of " << spans << " spans left out";
}

TYPED_TEST(FarSpans, SoftminSkipsMostSpansAtSmallEpsAndMatchesADoubleLoop) {
  using Real = TypeParam;
  const double eps = 0.001;
  const kn::SoftminSqDistOp<Real> op{Real(-1 / eps)};
  // Measured: 52%, 15% and 4.6% of the spans left out (few points for a
  // 3-D or 5-D cloud: bench_metrics' 2^14 points in 3-D leave out more).
  check_skipping<2, Real>(op, 1 / eps, false, 2, 0.4);
  check_skipping<3, Real>(op, 1 / eps, false, 3, 0.1);
  check_skipping<0, Real>(op, 1 / eps, false, 5, 0.02);  // runtime d
}

TYPED_TEST(FarSpans, MeanShiftWithoutTheDiagonalSkipsFarSpans) {
  using Real = TypeParam;
  const double h = 0.02;
  const kn::MeanShiftOp<Real, true> op{Real(-1 / (2 * h * h))};
  check_skipping<2, Real>(op, 1 / (2 * h * h), true, 2, 0.15);  // measured 25%
  check_skipping<3, Real>(op, 1 / (2 * h * h), true, 3, 0.02);  // 4%
  // The wide path by distance, where the bounds are computed but a 12-D box
  // of 64 points is near nothing; h keeps float's logits (r2 / 2h^2) near 10,
  // where their rounding stays below the tolerance.
  const double hw = 1.0;
  const kn::MeanShiftOp<Real, true> wide{Real(-1 / (2 * hw * hw))};
  check_skipping<12, Real>(wide, 1 / (2 * hw * hw), true, 12, 0.0);
}
