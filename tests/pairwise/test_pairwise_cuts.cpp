// Cutting M: the CPU engine reduces the y rows in pieces [0, j1), [j1, j2), ...,
// merges the pieces' states left to right and finishes them. Every cut must
// match a slow double loop, agree with the uncut call to 1e-6 relative, and
// give the same bits when run again. The cuts fall on and off the tile grid,
// leave pieces of one row or none, and (softmax over a set and itself) put
// the left-out diagonal of one block of x rows into different pieces.
#include <gtest/gtest.h>

#include "typed.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "cpu/pairwise.hpp"
#include "pairwise/ops.hpp"

namespace cpu = flowsampler::cpu;
namespace kn = flowsampler::kernels;

namespace {

template <class Real>
struct Problem {
  std::size_t n, m;
  int d;
  std::vector<Real> x;   // n x d column-major
  std::vector<Real> y;   // m x d row-major
  std::vector<Real> py;  // m x 1 payload: a weight or a log-weight
  bool same;             // x and y are the same set
  double xd(std::size_t i, int k) const { return double(x[std::size_t(k) * n + i]); }
  double yd(std::size_t j, int k) const { return double(y[j * std::size_t(d) + std::size_t(k)]); }
  cpu::PairwiseArgs<Real> args() const { return {x.data(), n, y.data(), py.data(), m, d, 2, same}; }
};

// Normal coordinates, or (grid) small integers, whose squared distances are
// exact in float and tie often: the k-min tie rule then decides.
template <class Real>
Problem<Real> make(std::size_t n, std::size_t m, int d, unsigned seed, bool same = false, bool grid = false) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g;
  std::uniform_int_distribution<int> u(-2, 2);
  auto draw = [&] { return grid ? Real(u(rng)) : Real(g(rng)); };
  Problem<Real> p{n, same ? n : m, d, std::vector<Real>(n * d), {}, {}, same};
  for (auto& v : p.x) v = draw();
  p.y.resize((p.m + cpu::detail::row_padding) * d);  // the engine reads a few rows past m (PairwiseArgs)
  for (std::size_t j = 0; j < p.m; ++j)
    for (int k = 0; k < d; ++k) p.y[j * d + k] = same ? p.x[std::size_t(k) * n + j] : draw();
  p.py.resize(p.m + cpu::detail::row_padding);
  for (std::size_t j = 0; j < p.m; ++j) p.py[j] = Real(0.25 + double(j % 7) / 4);
  return p;
}

// Reduces over the pieces that `cuts` (ascending, inside [0, m]) makes, merges
// them left to right and writes the outputs the policy points at.
template <class Policy, class Real>
void run_cut(const Policy& pol, const cpu::PairwiseArgs<Real>& a, const std::vector<std::size_t>& cuts) {
  std::vector<std::size_t> ends = cuts;
  ends.push_back(a.m);
  auto st = cpu::reduce_rows(pol, a, 0, ends[0]);
  for (std::size_t c = 1; c < ends.size(); ++c) {
    const auto piece = cpu::reduce_rows(pol, a, ends[c - 1], ends[c]);
    cpu::merge_states(pol, st, piece);
  }
  cpu::finish_states(pol, a, st);
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

template <class Real>
double ref_tol() {
  return sizeof(Real) == 4 ? 2e-5 : 1e-12;
}
constexpr double cut_tol = 1e-6;
// The float softmax sums a tile's exps in float against the piece's own max,
// so a cut changes the rounding of every term of its tile and of the pieces'
// carries: about 1e-6 of the scale (10 float ulps) here, the float engine's
// own rounding level (it is 2e-5 from the exact values). Double meets 1e-6
// with nine digits to spare.
template <class Real>
double softmax_cut_tol() {
  return sizeof(Real) == 4 ? 4e-6 : cut_tol;
}

const std::vector<std::vector<std::size_t>> cuts_m1300 = {{512},       {700},       {1},        {1299},    {0, 650},
                                                          {300, 1100}, {512, 1024}, {100, 101}, {40, 90, 1200},
                                                          {500, 600}};  // a short piece across a tile edge

}  // namespace

template <class Real>
class PairwiseCutTest : public ::testing::Test {};
TYPED_TEST_SUITE(PairwiseCutTest, flowsampler::test::Reals);

// sum_j w_j exp(-|x_i - y_j|^2 / (2 h^2)) (one output) and the unweighted
// Gaussian gradient sum (d outputs), at a register-resident, a wide and a
// runtime dimension.
template <int D, class Real>
void check_sums(int d) {
  const auto P = make<Real>(130, 1300, d, 7 + unsigned(d));
  const auto a = P.args();
  const double h = 0.8 * std::sqrt(double(d));
  const kn::Radial<kn::KernelKind::gaussian, Real> rad{Real(1 / h), Real(1 / (h * h))};
  // Reference: value and the sum of the terms' magnitudes (the scale of its rounding).
  std::vector<double> want(P.n), gwant(P.n * d), gscale(P.n * d);
  for (std::size_t i = 0; i < P.n; ++i)
    for (std::size_t j = 0; j < P.m; ++j) {
      double r2 = 0;
      for (int k = 0; k < d; ++k) r2 += (P.xd(i, k) - P.yd(j, k)) * (P.xd(i, k) - P.yd(j, k));
      const double kv = std::exp(-r2 / (2 * h * h));
      want[i] += double(P.py[j]) * kv;
      for (int k = 0; k < d; ++k) {
        const double g = -kv / (h * h) * (P.xd(i, k) - P.yd(j, k));
        gwant[k * P.n + i] += g, gscale[k * P.n + i] += std::fabs(g);
      }
    }
  const kn::KernelSumOp<kn::KernelKind::gaussian, Real, true> sum_op{rad};
  const kn::KernelGradSumOp<kn::KernelKind::gaussian, Real, false> grad_op{rad};
  std::vector<Real> s0(P.n), g0(P.n * d);
  cpu::pairwise_sum<D>(sum_op, a, s0.data());
  cpu::pairwise_sum<D>(grad_op, a, g0.data());
  for (std::size_t i = 0; i < P.n; ++i) ASSERT_NEAR(s0[i], want[i], ref_tol<Real>() * want[i]) << "d=" << d << " i=" << i;
  for (std::size_t e = 0; e < g0.size(); ++e) ASSERT_NEAR(g0[e], gwant[e], ref_tol<Real>() * gscale[e]) << "d=" << d << " e=" << e;

  for (const auto& cuts : cuts_m1300) {
    std::vector<Real> s(P.n), g(P.n * d), s2(P.n), g2(P.n * d);
    run_cut(cpu::SumPolicy<D, decltype(sum_op), Real>(sum_op, d, s.data()), a, cuts);
    run_cut(cpu::SumPolicy<D, decltype(grad_op), Real>(grad_op, d, g.data()), a, cuts);
    run_cut(cpu::SumPolicy<D, decltype(sum_op), Real>(sum_op, d, s2.data()), a, cuts);
    run_cut(cpu::SumPolicy<D, decltype(grad_op), Real>(grad_op, d, g2.data()), a, cuts);
    EXPECT_TRUE(same_bits(s, s2) && same_bits(g, g2)) << "d=" << d << " cut at " << cuts[0];
    for (std::size_t i = 0; i < P.n; ++i) {
      ASSERT_NEAR(s[i], want[i], ref_tol<Real>() * want[i]) << "d=" << d << " cut at " << cuts[0] << " i=" << i;
      ASSERT_NEAR(s[i], s0[i], cut_tol * want[i]) << "d=" << d << " cut at " << cuts[0] << " i=" << i;
    }
    for (std::size_t e = 0; e < g.size(); ++e) {
      ASSERT_NEAR(g[e], gwant[e], ref_tol<Real>() * gscale[e]) << "d=" << d << " cut at " << cuts[0] << " e=" << e;
      ASSERT_NEAR(g[e], g0[e], cut_tol * gscale[e]) << "d=" << d << " cut at " << cuts[0] << " e=" << e;
    }
  }
}

TYPED_TEST(PairwiseCutTest, SumsOverCutRowsMatchTheUncutCallAndADoubleLoop) {
  check_sums<3, TypeParam>(3);
  check_sums<32, TypeParam>(32);
  check_sums<0, TypeParam>(5);
}

// Weighted Gaussian mean shift, logit -|x - y|^2 / (2 eps^2) + log w_j, value
// y_j - x_i: the means and the log-normalizer, with and without the pairs j = i.
template <int D, class Real>
void check_softmax(int d, bool same, const std::vector<std::vector<std::size_t>>& cut_sets, std::size_t n = 130,
                   std::size_t m = 1300) {
  const auto P = make<Real>(same ? m : n, m, d, 11 + unsigned(d), same);
  const auto a = P.args();
  const double eps = 0.5 * std::sqrt(double(d));
  const kn::MeanShiftOp<Real, true> op{Real(-1 / (2 * eps * eps))};
  std::vector<double> mean(P.n * d), scale(P.n * d), lse(P.n);
  for (std::size_t i = 0; i < P.n; ++i) {
    std::vector<double> l(P.m, -INFINITY);
    double mx = -INFINITY;
    for (std::size_t j = 0; j < P.m; ++j) {
      if (same && j == i) continue;
      double r2 = 0;
      for (int k = 0; k < d; ++k) r2 += (P.xd(i, k) - P.yd(j, k)) * (P.xd(i, k) - P.yd(j, k));
      l[j] = -r2 / (2 * eps * eps) + double(P.py[j]);
      mx = std::max(mx, l[j]);
    }
    double z = 0;
    for (std::size_t j = 0; j < P.m; ++j) {
      const double e = std::exp(l[j] - mx);
      z += e;
      for (int k = 0; k < d; ++k) {
        mean[k * P.n + i] += e * (P.yd(j, k) - P.xd(i, k));
        scale[k * P.n + i] += e * std::fabs(P.yd(j, k) - P.xd(i, k));
      }
    }
    for (int k = 0; k < d; ++k) mean[k * P.n + i] /= z, scale[k * P.n + i] /= z;
    lse[i] = mx + std::log(z);
  }
  // The float engine takes its exps with fast_exp over logits rounded to
  // float: a relative error of a few float epsilons per term.
  const double rt = sizeof(Real) == 4 ? 1e-5 : 1e-11;
  auto check_ref = [&](const std::vector<Real>& o, const std::vector<Real>& ls, std::size_t cut) {
    for (std::size_t i = 0; i < P.n; ++i) {
      ASSERT_NEAR(ls[i], lse[i], rt * (1 + std::fabs(lse[i]))) << "d=" << d << " cut at " << cut << " i=" << i;
      for (int k = 0; k < d; ++k)
        ASSERT_NEAR(o[k * P.n + i], mean[k * P.n + i], rt * scale[k * P.n + i]) << "d=" << d << " cut at " << cut << " i=" << i;
    }
  };
  std::vector<Real> o0(P.n * d), l0(P.n);
  cpu::pairwise_softmax<D>(op, a, o0.data(), l0.data());
  check_ref(o0, l0, P.m);
  using Policy = cpu::SoftmaxPolicy<D, decltype(op), Real>;
  for (const auto& cuts : cut_sets) {
    std::vector<Real> o(P.n * d), ls(P.n), o2(P.n * d), ls2(P.n), o3(P.n * d);
    run_cut(Policy(op, d, o.data(), ls.data()), a, cuts);
    run_cut(Policy(op, d, o2.data(), ls2.data()), a, cuts);
    run_cut(Policy(op, d, o3.data(), nullptr), a, cuts);  // the means alone, without the log
    EXPECT_TRUE(same_bits(o, o2) && same_bits(ls, ls2) && same_bits(o, o3)) << "d=" << d << " cut at " << cuts[0];
    check_ref(o, ls, cuts[0]);
    double worst = 0, worst_lse = 0;
    for (std::size_t i = 0; i < P.n; ++i) {
      worst_lse = std::max(worst_lse, std::fabs(double(ls[i]) - double(l0[i])) / (1 + std::fabs(lse[i])));
      for (int k = 0; k < d; ++k)
        worst = std::max(worst, std::fabs(double(o[k * P.n + i]) - double(o0[k * P.n + i])) / scale[k * P.n + i]);
    }
    EXPECT_LE(worst, softmax_cut_tol<Real>()) << "d=" << d << " cut at " << cuts[0];
    EXPECT_LE(worst_lse, cut_tol) << "d=" << d << " cut at " << cuts[0];
  }
}

TYPED_TEST(PairwiseCutTest, SoftmaxOverCutRowsMatchesTheUncutCallAndADoubleLoop) {
  check_softmax<3, TypeParam>(3, false, cuts_m1300);
  check_softmax<32, TypeParam>(32, false, cuts_m1300);
  check_softmax<0, TypeParam>(5, false, cuts_m1300);
}

// Few y rows (the exact GMM field's components): blocks of thousands of x
// rows, and tiles shorter than, equal to and just past the register path's
// chunk of 8 rows, whose rows past the end come from the padding.
TYPED_TEST(PairwiseCutTest, SoftmaxOverFewRows) {
  for (std::size_t m : {1, 5, 8, 9, 13}) {
    check_softmax<2, TypeParam>(2, false, {{1}, {m / 2, m - 1}}, 9000, m);
    check_softmax<4, TypeParam>(4, false, {{m - 1}}, 300, m);
  }
}

TYPED_TEST(PairwiseCutTest, SoftmaxWithoutTheDiagonalOverCutRows) {
  // 40 and 90 cut the diagonal of the first two blocks of x rows (64 each);
  // 700 and 701 leave a piece with one diagonal pair.
  const std::vector<std::vector<std::size_t>> cuts = {{40}, {40, 90}, {700, 701}, {512, 1024}, {0, 1299}};
  check_softmax<3, TypeParam>(3, true, cuts);
  check_softmax<0, TypeParam>(5, true, cuts);
}

// k-min on integer points: squared distances are exact and tie often, so the
// lists are fixed by (distance, lower index) alone, whatever the cut.
template <int D, class Real>
void check_kmin(int d, int k) {
  const auto P = make<Real>(130, 1300, d, 5 + unsigned(d), false, true);
  const auto a = P.args();
  const kn::SqDistOp<Real> op{};
  using Policy = cpu::KminPolicy<D, kn::SqDistOp<Real>, Real>;
  std::vector<Real> want_d(P.n * k);
  std::vector<std::uint32_t> want_i(P.n * k);
  for (std::size_t i = 0; i < P.n; ++i) {
    std::vector<std::pair<double, std::uint32_t>> all;
    for (std::size_t j = 0; j < P.m; ++j) {
      double r2 = 0;
      for (int c = 0; c < d; ++c) r2 += (P.xd(i, c) - P.yd(j, c)) * (P.xd(i, c) - P.yd(j, c));
      all.push_back({r2, std::uint32_t(j)});
    }
    std::sort(all.begin(), all.end());
    for (int t = 0; t < k; ++t) want_d[t * P.n + i] = Real(all[t].first), want_i[t * P.n + i] = all[t].second;
  }
  std::vector<Real> d0(P.n * k);
  std::vector<std::uint32_t> i0(P.n * k);
  cpu::pairwise_kmin<D>(op, a, k, d0.data(), i0.data());
  EXPECT_TRUE(same_bits(d0, want_d) && same_bits(i0, want_i)) << "d=" << d << " k=" << k << " uncut";
  for (const auto& cuts : cuts_m1300) {
    std::vector<Real> dist(P.n * k);
    std::vector<std::uint32_t> idx(P.n * k);
    run_cut(Policy{&op, k, dist.data(), idx.data()}, a, cuts);
    EXPECT_TRUE(same_bits(dist, want_d)) << "d=" << d << " k=" << k << " cut at " << cuts[0];
    EXPECT_TRUE(same_bits(idx, want_i)) << "d=" << d << " k=" << k << " cut at " << cuts[0];
  }
}

TYPED_TEST(PairwiseCutTest, KminOverCutRowsKeepsTheSameNeighboursAndTies) {
  for (int k : {1, 5, 17}) {
    check_kmin<3, TypeParam>(3, k);
    check_kmin<0, TypeParam>(5, k);
  }
}

// Merging in the other order: the k-min lists do not change, since ties go
// by index rather than by which piece came first.
TYPED_TEST(PairwiseCutTest, KminMergeIsOrderFree) {
  using Real = TypeParam;
  const auto P = make<Real>(70, 1300, 2, 3, false, true);
  const auto a = P.args();
  const kn::SqDistOp<Real> op{};
  const int k = 6;
  std::vector<Real> d0(P.n * k), d1(P.n * k);
  std::vector<std::uint32_t> i0(P.n * k), i1(P.n * k);
  const cpu::KminPolicy<2, kn::SqDistOp<Real>, Real> p0{&op, k, d0.data(), i0.data()}, p1{&op, k, d1.data(), i1.data()};
  auto lo = cpu::reduce_rows(p0, a, 0, 600), hi = cpu::reduce_rows(p0, a, 600, P.m);
  auto lo2 = lo;
  cpu::merge_states(p0, lo, hi);
  cpu::finish_states(p0, a, lo);
  cpu::merge_states(p1, hi, lo2);
  cpu::finish_states(p1, a, hi);
  EXPECT_TRUE(same_bits(d0, d1) && same_bits(i0, i1));
}
