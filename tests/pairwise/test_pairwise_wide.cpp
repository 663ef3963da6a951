// Wide tiles by distance (src/cpu/distance_tile.hpp): the vector exp their
// Gaussian weights take (src/cpu/vector.hpp) against the scalar fast_exp,
// bit for bit; the GEMM form of r2
// against a double loop on data where it is hard (near pairs, an offset far
// larger than the spread, exact duplicates), and the engine's kernel sums,
// gradients and mean shift on such data against naive double loops, at a
// compile-time (32) and a runtime (40) dimension.
#include <gtest/gtest.h>

#include "typed.hpp"

#include <cmath>
#include <cstring>
#include <type_traits>
#include <limits>
#include <random>

#include "cpu/distance_tile.hpp"
#include "cpu/vector.hpp"
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
        // One run (m <= run_rows), whose r2 stays in b.r2 for the check.
        cpu::for_each_run<0>(b, a, 64, 0, int(m), [](std::size_t, int) {});
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
      // Weights of both signs and zeros: the weighted ops scale each exp.
      std::vector<Real> wv(m);
      for (std::size_t j = 0; j < m; ++j) wv[j] = Real(j % 5 == 0 ? 0.0 : std::sin(0.37 * double(j)));
      const auto Wt = fs::ParticleSet<Real>::from_column_major(ctx, wv.data(), m, 1);
      const auto s = fs::pairwise::kernel_sum(ctx, spec, X, Y).to_host();
      const auto g = fs::pairwise::kernel_grad_sum(ctx, spec, X, Y).to_host();
      const auto sw = fs::pairwise::kernel_sum(ctx, spec, X, Y, &Wt).to_host();
      const auto gws = fs::pairwise::kernel_grad_sum(ctx, spec, X, Y, &Wt).to_host();
      const auto ms = fs::pairwise::mean_shift(ctx, bw, X, Y).mean.to_host();
      for (std::size_t i = 0; i < n; ++i) {
        double want = 0, z = 0, mx = -INFINITY, wsum = 0, wscale = 0;
        std::vector<double> gw(d, 0.0), gscale(d, 0.0), shift(d, 0.0), sscale(d, 0.0), r2(m), gww(d, 0.0), gwscale(d, 0.0);
        for (std::size_t j = 0; j < m; ++j) {
          r2[j] = fs::test::sqdist(x, i, y, j);
          mx = std::max(mx, -r2[j] / (2 * bw * bw));
          const double kv = std::exp(-r2[j] / (2 * bw * bw));
          want += kv;
          wsum += double(wv[j]) * kv, wscale += std::fabs(double(wv[j])) * kv;
          for (std::size_t k = 0; k < d; ++k) {
            const double gk = -kv / (bw * bw) * (x(i, k) - y(j, k));
            gw[k] += gk, gscale[k] += std::fabs(gk);
            gww[k] += double(wv[j]) * gk, gwscale[k] += std::fabs(double(wv[j]) * gk);
          }
        }
        for (std::size_t j = 0; j < m; ++j) {
          const double e = std::exp(-r2[j] / (2 * bw * bw) - mx);
          z += e;
          for (std::size_t k = 0; k < d; ++k) shift[k] += e * (y(j, k) - x(i, k)), sscale[k] += e * std::fabs(y(j, k) - x(i, k));
        }
        ASSERT_NEAR(s[i], want, tol * want) << "d=" << d << " offset=" << offset << " i=" << i;
        ASSERT_NEAR(sw[i], wsum, tol * wscale) << "weighted d=" << d << " offset=" << offset << " i=" << i;
        for (std::size_t k = 0; k < d; ++k) {
          ASSERT_NEAR(g[k * n + i], gw[k], tol * gscale[k]) << "grad d=" << d << " offset=" << offset << " i=" << i;
          ASSERT_NEAR(gws[k * n + i], gww[k], tol * gwscale[k]) << "weighted grad d=" << d << " offset=" << offset << " i=" << i;
          // The GEMM form sums w (y - c) and subtracts (x - c) sum w: the
          // mean's rounding scales with the spread about c, not with |y - x|.
          ASSERT_NEAR(ms[k * n + i], shift[k] / z, tol * (sscale[k] / z + 1))
              << "mean shift d=" << d << " offset=" << offset << " i=" << i << " k=" << k;
        }
      }
    }
}

namespace {

/// A vector exp on a vector of inputs against fast_exp lane by lane; the count of
/// lanes that differ in any bit (NaN equal to NaN).
template <class Real, class VecExp>
std::size_t differing_lanes(const std::vector<Real>& in, VecExp&& vexp) {
  constexpr std::size_t W = cpu::detail::lanes_per_vector<Real>;
  std::size_t bad = 0;
  for (std::size_t e = 0; e + W <= in.size(); e += W) {
    const cpu::detail::Vec<Real> r = vexp(cpu::detail::load(in.data() + e));
    for (std::size_t l = 0; l < W; ++l) {
      const Real want = kn::fast_exp(in[e + l]), got = r[l];
      if (!(std::memcmp(&want, &got, sizeof want) == 0 || (std::isnan(want) && std::isnan(got)))) ++bad;
    }
  }
  return bad;
}

/// Float inputs every `step` bit patterns over [-110, 95] (normal, subnormal
/// and flushed results, overflow), and the special values.
std::vector<float> float_sweep(std::uint32_t step) {
  std::vector<float> v{0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, 88.72f, 88.73f, 89.0f, 89.01f,
                       -87.33f, -87.34f, -103.97f, -103.98f, -104.0f, -104.01f, 1e-30f, -1e-30f};
  for (float lo : {-110.0f, 0.0f}) {
    std::uint32_t b, e;
    const float hi = lo < 0 ? -0.0f : 95.0f;
    std::memcpy(&b, lo < 0 ? &hi : &lo, 4), std::memcpy(&e, lo < 0 ? &lo : &hi, 4);
    for (std::uint32_t u = b; u < e; u += step) {
      float f;
      std::memcpy(&f, &u, 4);
      v.push_back(f);
    }
  }
  while (v.size() % cpu::detail::lanes_per_vector<float>) v.push_back(0.0f);
  return v;
}

std::vector<double> double_sweep() {
  std::vector<double> v{0.0, -0.0, INFINITY, -INFINITY, NAN, 709.78, 709.79, 710.0, 710.01, -708.39, -708.4, -745.1,
                        -745.2, -746.0, -746.01};
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(-760.0, 720.0), small(-1.0, 1.0);
  for (int e = 0; e < 1 << 20; ++e) v.push_back(e % 4 == 0 ? small(rng) : u(rng));
  while (v.size() % cpu::detail::lanes_per_vector<double>) v.push_back(0.0);
  return v;
}

}  // namespace

// The vector paths' exps (Gaussian weights, shifted softmax logits) come
// from exp_nonpositive: it must be fast_exp on every lane of x <= 0,
// subnormal and flushed results included.
TEST(ExpVec, EqualsFastExpBitForBitOnTheNonPositiveRange) {
  namespace cd = cpu::detail;
  const auto nonpositive = [](auto in) {
    using Real = typename decltype(in)::value_type;
    decltype(in) out;
    for (Real x : in)
      if (!(x > 0)) out.push_back(x);  // NaN kept
    while (out.size() % cd::lanes_per_vector<Real>) out.push_back(Real(0));
    return out;
  };
  const auto fs_in = nonpositive(float_sweep(97));
  ASSERT_GT(fs_in.size(), 10000000u);
  const auto ds_in = nonpositive(double_sweep());
  ASSERT_GT(ds_in.size(), 500000u);
  const auto alone = [](auto x) {
    using Real = std::remove_cv_t<std::remove_reference_t<decltype(x[0])>>;
    decltype(x) v[1] = {x};
    cd::exp_nonpositive<Real>(v);
    return v[0];
  };
  EXPECT_EQ(differing_lanes(fs_in, alone), 0u);
  EXPECT_EQ(differing_lanes(ds_in, alone), 0u);
  // A batch of three takes each step across its vectors: the middle one
  // must come out the same beside others.
  const auto middle_of_three = [](auto x) {
    using Real = std::remove_cv_t<std::remove_reference_t<decltype(x[0])>>;
    decltype(x) v[3] = {x * Real(0.5), x, x * Real(2)};
    cd::exp_nonpositive<Real>(v);
    return v[1];
  };
  EXPECT_EQ(differing_lanes(fs_in, middle_of_three), 0u);
  EXPECT_EQ(differing_lanes(ds_in, middle_of_three), 0u);
}

// The Gaussian ops' weight_from_exp, fed fast_exp(r2_coef() r2), gives their
// weight_of bit for bit: the wide sums take it, the other paths weight_of.
TYPED_TEST(PairwiseWideTest, ExpWeightsEqualTheOpsWeights) {
  using Real = TypeParam;
  const kn::Radial<kn::KernelKind::gaussian, Real> k{Real(1 / 0.7), Real(1 / 0.49)};
  const kn::KernelSumOp<kn::KernelKind::gaussian, Real, false> sum{k};
  const kn::KernelSumOp<kn::KernelKind::gaussian, Real, true> wsum{k};
  const kn::KernelGradSumOp<kn::KernelKind::gaussian, Real, false> grad{k};
  const kn::KernelGradSumOp<kn::KernelKind::gaussian, Real, true> wgrad{k};
  const kn::SvgdOp<Real> svgd{k};
  static_assert(kn::exp_weight<decltype(sum)>::value && kn::exp_weight<decltype(svgd)>::value);
  static_assert(!kn::exp_weight<kn::KernelSumOp<kn::KernelKind::laplace, Real, false>>::value);
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(0.0, 200.0), w(-3.0, 3.0);
  std::size_t bad = 0;
  const auto same = [&](Real a, Real b) { bad += std::memcmp(&a, &b, sizeof a) != 0; };
  for (int e = 0; e < 100000; ++e) {
    const Real r2 = Real(e < 10 ? double(e) : u(rng)), py[1] = {Real(w(rng))};
    same(sum.weight_from_exp(kn::fast_exp(sum.r2_coef() * r2), py), sum.weight_of(r2, py));
    same(wsum.weight_from_exp(kn::fast_exp(wsum.r2_coef() * r2), py), wsum.weight_of(r2, py));
    same(grad.weight_from_exp(kn::fast_exp(grad.r2_coef() * r2), py), grad.weight_of(r2, py));
    same(wgrad.weight_from_exp(kn::fast_exp(wgrad.r2_coef() * r2), py), wgrad.weight_of(r2, py));
    same(svgd.weight_from_exp(kn::fast_exp(svgd.r2_coef() * r2), py), svgd.weight_of(r2, py));
  }
  EXPECT_EQ(bad, 0u);
}
