// The pairwise body with y cut into pieces (issue 17, kernels/pairwise/split.hpp):
// PairwiseBody reduces each piece of whole tiles into its slot, and
// PairwiseMergeBody joins the slots in piece order and finishes, as the CUDA
// launcher runs them when a grid of row blocks alone would leave the device
// idle. On fibers, for each reduction, a compile-time D (3) and the runtime-d
// path (d = 5), and cuts of 1, 2, 3, 5 pieces over 4 tiles (pieces of one
// tile, of two, and empty ones): every cut matches a slow double loop and the
// uncut body, and the same cut gives the same bits again, whatever order the
// fibers start in. Only a few dimensions are instantiated (compile time).
#include <gtest/gtest.h>

#include "typed.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "pairwise/body.hpp"
#include "pairwise/ops.hpp"
#include "pairwise/split.hpp"
#include "simt/fiber_context.hpp"
#include "targets/gmm_ops.hpp"

namespace fk = flowsampler::kernels;
namespace simt = flowsampler::simt;

namespace {

constexpr unsigned block = 16;
constexpr std::size_t n_rows = 37;  // three row blocks, the last one partial
constexpr std::size_t m_rows = 58;  // four tiles, the last one partial
constexpr unsigned cuts[] = {1, 2, 3, 5};

// A problem: x (n x d) and y (m x d) column-major, a payload column of
// positive weights; integer coordinates (exact squared distances, many ties)
// for the k-min.
template <class Real>
struct Problem {
  std::size_t n, m;
  int d;
  std::vector<Real> x, y, py;
  double xd(std::size_t i, int k) const { return double(x[std::size_t(k) * n + i]); }
  double yd(std::size_t j, int k) const { return double(y[std::size_t(k) * m + j]); }
};

template <class Real>
Problem<Real> make(std::size_t n, std::size_t m, int d, int payload, bool same, bool grid, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g;
  std::uniform_int_distribution<int> u(-2, 2);
  auto draw = [&] { return grid ? Real(u(rng)) : Real(g(rng)); };
  Problem<Real> p{n, same ? n : m, d, std::vector<Real>(n * d), {}, {}};
  for (auto& v : p.x) v = draw();
  p.y = p.x;
  if (!same) {
    p.y.resize(p.m * d);
    for (auto& v : p.y) v = draw();
  }
  p.py.resize(p.m * payload + 1);
  for (auto& v : p.py) v = Real(0.2 + std::fabs(g(rng)));
  return p;
}

struct Outputs {
  std::vector<double> out, lse;  // widened, to compare either Real alike
  std::vector<std::uint32_t> idx;
  std::vector<unsigned char> bits;  // the raw outputs, for same-bits checks
};

// Runs the body as the CUDA launcher does for `pieces`: one launch over
// ceil(n / block) row blocks when 1, else the cut body over pieces x row
// blocks into host-side slots, then the merge body.
template <fk::Reduction R, int D, class Op, class Real>
Outputs emulate(const Op& op, const Problem<Real>& P, unsigned pieces, unsigned permute, int k = 0,
                bool skip_diagonal = false) {
  const std::size_t n = P.n;
  const int p = R == fk::Reduction::kmin ? k : Op::value_dim(P.d);
  std::vector<Real> out(n * p, Real(-7)), lse(n, Real(-7)), tacc(n * p * pieces);
  std::vector<double> carry(n * p), split(n * pieces * fk::piece_values<R>(Op::value_dim(P.d)) + 1);
  std::vector<Real> best(n * pieces * k + 1);
  std::vector<std::uint32_t> idx(n * k + 1, 7u), best_idx(n * pieces * k + 1);
  fk::PairwiseDeviceArgs<Real> a{P.x.data(), n, P.y.data(), P.py.data(), P.m, P.d, out.data(), lse.data(),
                                 idx.data(), k, carry.data(), tacc.data(), skip_diagonal};
  a.pieces = pieces;
  a.split = split.data();
  a.split_best = best.data();
  a.split_idx = best_idx.data();
  using Body = fk::PairwiseBody<D, Op, R>;
  const unsigned row_blocks = unsigned((n + block - 1) / block);
  simt::LaunchConfig cfg;
  cfg.block = block;
  cfg.grid = pieces * row_blocks;
  cfg.shared_bytes = Body::template shared_bytes<Real>(block, P.d);
  cfg.permute_seed = permute;
  simt::launch<Body>(cfg, op, a);
  if (pieces > 1) {
    cfg.grid = row_blocks;
    cfg.shared_bytes = 0;
    simt::launch<fk::PairwiseMergeBody<D, Op, R>>(cfg, op, a);
  }
  Outputs o;
  o.out.assign(out.begin(), out.end());
  o.lse.assign(lse.begin(), lse.end());
  o.idx.assign(idx.begin(), idx.begin() + n * k);
  const auto* ob = reinterpret_cast<const unsigned char*>(out.data());
  const auto* lb = reinterpret_cast<const unsigned char*>(lse.data());
  o.bits.assign(ob, ob + out.size() * sizeof(Real));
  if (R == fk::Reduction::softmax) o.bits.insert(o.bits.end(), lb, lb + lse.size() * sizeof(Real));
  return o;
}

// The same cut gives the same bits again, with the fibers started in another order.
template <fk::Reduction R, int D, class Op, class Real>
void expect_repeatable(const Op& op, const Problem<Real>& P, unsigned pieces, const Outputs& first, int k = 0,
                       bool skip_diagonal = false) {
  const Outputs again = emulate<R, D>(op, P, pieces, 17 + pieces, k, skip_diagonal);
  EXPECT_TRUE(again.bits == first.bits && again.idx == first.idx) << pieces << " pieces";
}

template <class Real>
double ref_tol() {
  return sizeof(Real) == 4 ? 2e-5 : 1e-12;
}

// sum_j w_j grad_x k(x_i, y_j), Gaussian kernel h = 1, and the sum of the
// terms' magnitudes (the scale of its rounding), by a double loop.
template <class Real>
void grad_sum_reference(const Problem<Real>& P, std::vector<double>& want, std::vector<double>& scale) {
  want.assign(P.n * P.d, 0), scale.assign(P.n * P.d, 0);
  for (std::size_t i = 0; i < P.n; ++i)
    for (std::size_t j = 0; j < P.m; ++j) {
      double r2 = 0;
      for (int k = 0; k < P.d; ++k) r2 += (P.xd(i, k) - P.yd(j, k)) * (P.xd(i, k) - P.yd(j, k));
      const double f = -std::exp(-0.5 * r2) * double(P.py[j]);
      for (int k = 0; k < P.d; ++k) {
        const double g = f * (P.xd(i, k) - P.yd(j, k));
        want[k * P.n + i] += g, scale[k * P.n + i] += std::fabs(g);
      }
    }
}

template <class Real, int D>
void check_sum(int d) {
  const auto P = make<Real>(n_rows, m_rows, d, 1, false, false, 3 + unsigned(d));
  const fk::KernelGradSumOp<fk::KernelKind::gaussian, Real, true> op{{Real(1), Real(1)}};
  std::vector<double> want, scale;
  grad_sum_reference(P, want, scale);
  const Outputs whole = emulate<fk::Reduction::sum, D>(op, P, 1, 0);
  double worst = 0;
  for (unsigned pieces : cuts) {
    const Outputs o = emulate<fk::Reduction::sum, D>(op, P, pieces, 0);
    for (std::size_t e = 0; e < want.size(); ++e) {
      ASSERT_NEAR(o.out[e], want[e], ref_tol<Real>() * scale[e]) << "d=" << d << " " << pieces << " pieces, e=" << e;
      ASSERT_NEAR(o.out[e], whole.out[e], 1e-6 * scale[e]) << "d=" << d << " " << pieces << " pieces, e=" << e;
      worst = std::max(worst, std::fabs(o.out[e] - whole.out[e]) / scale[e]);
    }
    expect_repeatable<fk::Reduction::sum, D>(op, P, pieces, o);
  }
  std::printf("[ measured ] sum %s d=%d: cut vs uncut at most %.3g of the scale\n",
              sizeof(Real) == 4 ? "float" : "double", d, worst);
}

// Mean shift without weights (Gaussian, eps = 1): softmax means of y_j - x_i
// and log-normalizers by a double loop; `same`: x against itself without j = i.
template <class Real>
void mean_shift_reference(const Problem<Real>& P, bool same, std::vector<double>& mean, std::vector<double>& scale,
                          std::vector<double>& lse) {
  mean.assign(P.n * P.d, 0), scale.assign(P.n * P.d, 0), lse.assign(P.n, 0);
  for (std::size_t i = 0; i < P.n; ++i) {
    std::vector<double> l(P.m, -INFINITY);
    double mx = -INFINITY, z = 0;
    for (std::size_t j = 0; j < P.m; ++j) {
      if (same && j == i) continue;
      double r2 = 0;
      for (int k = 0; k < P.d; ++k) r2 += (P.xd(i, k) - P.yd(j, k)) * (P.xd(i, k) - P.yd(j, k));
      l[j] = -0.5 * r2, mx = std::max(mx, l[j]);
    }
    for (std::size_t j = 0; j < P.m; ++j) {
      const double e = std::exp(l[j] - mx);
      z += e;
      for (int k = 0; k < P.d; ++k) {
        mean[k * P.n + i] += e * (P.yd(j, k) - P.xd(i, k));
        scale[k * P.n + i] += e * std::fabs(P.yd(j, k) - P.xd(i, k));
      }
    }
    for (int k = 0; k < P.d; ++k) mean[k * P.n + i] /= z, scale[k * P.n + i] /= z;
    lse[i] = mx + std::log(z);
  }
}

template <class Real, int D>
void check_softmax(int d, bool same) {
  const auto P = make<Real>(same ? m_rows : n_rows, m_rows, d, 0, same, false, 5 + unsigned(d));
  const fk::MeanShiftOp<Real, false> op{Real(-0.5)};
  std::vector<double> mean, scale, lse;
  mean_shift_reference(P, same, mean, scale, lse);
  const Outputs whole = emulate<fk::Reduction::softmax, D>(op, P, 1, 0, 0, same);
  // Against the double loop as tests/pairwise/test_pairwise_cuts.cpp; cut
  // against uncut: float means within 4e-6 of the scale (the float tile
  // sums are the same, the merges rescale them in double), double 1e-12.
  const double rt = sizeof(Real) == 4 ? 1e-5 : 1e-11, ct = sizeof(Real) == 4 ? 4e-6 : 1e-12;
  double worst = 0, worst_lse = 0;
  for (unsigned pieces : cuts) {
    const Outputs o = emulate<fk::Reduction::softmax, D>(op, P, pieces, 0, 0, same);
    for (std::size_t i = 0; i < P.n; ++i) {
      ASSERT_NEAR(o.lse[i], lse[i], rt * (1 + std::fabs(lse[i]))) << "d=" << d << " " << pieces << " pieces, i=" << i;
      ASSERT_NEAR(o.lse[i], whole.lse[i], ct * (1 + std::fabs(lse[i])))
          << "d=" << d << " " << pieces << " pieces, i=" << i;
      worst_lse = std::max(worst_lse, std::fabs(o.lse[i] - whole.lse[i]) / (1 + std::fabs(lse[i])));
    }
    for (std::size_t e = 0; e < mean.size(); ++e) {
      ASSERT_NEAR(o.out[e], mean[e], rt * scale[e]) << "d=" << d << " " << pieces << " pieces, e=" << e;
      ASSERT_NEAR(o.out[e], whole.out[e], ct * scale[e]) << "d=" << d << " " << pieces << " pieces, e=" << e;
      worst = std::max(worst, std::fabs(o.out[e] - whole.out[e]) / scale[e]);
    }
    expect_repeatable<fk::Reduction::softmax, D>(op, P, pieces, o, 0, same);
  }
  std::printf("[ measured ] softmax%s %s d=%d: cut vs uncut means %.3g of the scale, lse %.3g relative\n",
              same ? " without self pairs" : "", sizeof(Real) == 4 ? "float" : "double", d, worst, worst_lse);
}

// The k nearest by (squared distance, index), by sorting every row.
template <class Real>
void kmin_reference(const Problem<Real>& P, int k, std::vector<double>& dist, std::vector<std::uint32_t>& idx) {
  dist.assign(P.n * k, 0), idx.assign(P.n * k, 0);
  for (std::size_t i = 0; i < P.n; ++i) {
    std::vector<std::pair<double, std::uint32_t>> row(P.m);
    for (std::size_t j = 0; j < P.m; ++j) {
      double r2 = 0;
      for (int c = 0; c < P.d; ++c) r2 += (P.xd(i, c) - P.yd(j, c)) * (P.xd(i, c) - P.yd(j, c));
      row[j] = {r2, std::uint32_t(j)};
    }
    std::sort(row.begin(), row.end());
    for (int t = 0; t < k; ++t) dist[t * P.n + i] = row[t].first, idx[t * P.n + i] = row[t].second;
  }
}

template <class Real, int D>
void check_kmin(int d) {
  const auto P = make<Real>(n_rows, m_rows, d, 0, false, true, 9 + unsigned(d));
  const int k = 5;
  std::vector<double> dist;
  std::vector<std::uint32_t> idx;
  kmin_reference(P, k, dist, idx);
  const Outputs whole = emulate<fk::Reduction::kmin, D>(fk::SqDistOp<Real>{}, P, 1, 0, k);
  for (unsigned pieces : cuts) {
    const Outputs o = emulate<fk::Reduction::kmin, D>(fk::SqDistOp<Real>{}, P, pieces, 0, k);
    EXPECT_TRUE(o.bits == whole.bits && o.idx == whole.idx) << "d=" << d << " " << pieces << " pieces";
    EXPECT_TRUE(o.out == dist && o.idx == idx) << "d=" << d << " " << pieces << " pieces";
    expect_repeatable<fk::Reduction::kmin, D>(fk::SqDistOp<Real>{}, P, pieces, o, k);
  }
}

// An op that finishes its own outputs (the exact GMM velocity from the
// denoiser mean), wide payload rows: a cut agrees with the uncut body,
// which the other SIMT tests compare with the CPU backend.
template <class Real>
void check_gmm_finish() {
  constexpr int d = 3;
  using Op = fk::GmmOp<Real, false, fk::GmmValues::velocity_denoiser>;
  auto P = make<Real>(n_rows, m_rows, d, Op::payload_dim(d), false, false, 13);
  Op op;
  op.cz = 0.7, op.cm = -1.3;
  const Outputs whole = emulate<fk::Reduction::softmax, d>(op, P, 1, 0);
  const double tol = sizeof(Real) == 4 ? 1e-4 : 1e-11;  // as tests/simt/pairwise_body_testing.hpp
  for (unsigned pieces : cuts) {
    const Outputs o = emulate<fk::Reduction::softmax, d>(op, P, pieces, 0);
    for (std::size_t e = 0; e < o.out.size(); ++e)
      ASSERT_NEAR(o.out[e], whole.out[e], tol * (1 + std::fabs(whole.out[e]))) << pieces << " pieces, e=" << e;
    for (std::size_t i = 0; i < P.n; ++i)
      ASSERT_NEAR(o.lse[i], whole.lse[i], tol * (1 + std::fabs(whole.lse[i]))) << pieces << " pieces, i=" << i;
    expect_repeatable<fk::Reduction::softmax, d>(op, P, pieces, o);
  }
}

template <class Real>
class SimtPairwiseSplit : public ::testing::Test {};
using flowsampler::test::Reals;
TYPED_TEST_SUITE(SimtPairwiseSplit, Reals);

TYPED_TEST(SimtPairwiseSplit, SumOverPiecesMatchesTheUncutBodyAndADoubleLoop) {
  check_sum<TypeParam, 3>(3);
  check_sum<TypeParam, 0>(5);
}

TYPED_TEST(SimtPairwiseSplit, SoftmaxOverPiecesMatchesTheUncutBodyAndADoubleLoop) {
  check_softmax<TypeParam, 3>(3, false);
  check_softmax<TypeParam, 0>(5, false);
}

TYPED_TEST(SimtPairwiseSplit, SoftmaxWithoutSelfPairsOverPieces) {
  check_softmax<TypeParam, 3>(3, true);
  check_softmax<TypeParam, 0>(5, true);
}

TYPED_TEST(SimtPairwiseSplit, KminOverPiecesKeepsTheSameNeighboursAndTies) {
  check_kmin<TypeParam, 3>(3);
  check_kmin<TypeParam, 0>(5);
}

TYPED_TEST(SimtPairwiseSplit, FinishingGmmOpOverPieces) { check_gmm_finish<TypeParam>(); }

// The pieces: whole tiles, in order, covering [0, m), the last ones short or empty.
TEST(SimtPairwiseSplitPlan, PiecesAreWholeTilesCoveringY) {
  for (std::size_t m : {std::size_t(1), std::size_t(16), std::size_t(58), std::size_t(64), std::size_t(1000)})
    for (unsigned pieces : {1u, 2u, 3u, 5u, 70u}) {
      std::size_t next = 0;
      for (unsigned c = 0; c < pieces; ++c) {
        const fk::RowRange r = fk::piece_rows(m, block, pieces, c);
        EXPECT_EQ(r.begin, next) << "m=" << m << " " << pieces << " pieces, piece " << c;
        EXPECT_LE(r.begin, r.end);
        EXPECT_TRUE(r.begin % block == 0 || r.begin == m);
        next = r.end;
      }
      EXPECT_EQ(next, m) << "m=" << m << " " << pieces << " pieces";
    }
  // The cuts of the tests above: 4 tiles in 3 pieces leave the last empty, in 5 one.
  EXPECT_EQ(fk::piece_rows(m_rows, block, 3, 2).begin, fk::piece_rows(m_rows, block, 3, 2).end);
  EXPECT_EQ(fk::piece_rows(m_rows, block, 5, 4).begin, m_rows);
  EXPECT_EQ(fk::piece_rows(m_rows, block, 5, 3).end - fk::piece_rows(m_rows, block, 5, 3).begin, m_rows - 3 * block);
}

// How many pieces: none while the row blocks fill 4 waves, else enough to
// fill them, keeping pieces of at least 4 tiles and at most 64 pieces.
TEST(SimtPairwiseSplitPlan, PiecesFillTheDeviceWithoutShortPieces) {
  const int sms = 132, per_sm = 8;  // an H100-class device; 4 waves are 4224 blocks
  EXPECT_EQ(fk::split_pieces(1000000, 1000000, 128, sms, per_sm), 1u);                 // 7813 row blocks
  EXPECT_EQ(fk::split_pieces(4224 * 128, 1000000, 128, sms, per_sm), 1u);              // exactly 4 waves
  EXPECT_EQ(fk::split_pieces(10000, 1000000, 128, sms, per_sm), 54u);                  // 79 row blocks: ceil(4224 / 79)
  EXPECT_EQ(fk::split_pieces(10000, 10000, 128, sms, per_sm), 19u);                    // 79 tiles: 19 pieces of >= 4
  EXPECT_EQ(fk::split_pieces(100, 100000000, 128, sms, per_sm), 64u);                  // at most 64
  EXPECT_EQ(fk::split_pieces(100, 7 * 128, 128, sms, per_sm), 1u);                     // 7 tiles: one piece of >= 4
  EXPECT_EQ(fk::split_pieces(100, 8 * 128, 128, sms, per_sm), 2u);
  EXPECT_EQ(fk::split_pieces(0, 1000, 128, sms, per_sm), 1u);
  EXPECT_EQ(fk::split_pieces(10000, 1000000, 128, 0, 0), 1u);                          // 79 blocks fill 4 waves of 1
}

}  // namespace
