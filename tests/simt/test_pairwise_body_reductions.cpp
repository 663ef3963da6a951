// The CUDA kernel body of the pairwise engine (kernels/pairwise/body.hpp) runs
// under the fiber emulator and is compared with the CPU backend, for each
// reduction, compile-time and runtime d (also where a compile-time D would
// spill registers on the GPU), and sizes that are not multiples of the block.
#include "pairwise_body_testing.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

using namespace flowsampler::test::pairwise_body;

template <class Real>
class SimtPairwise : public ::testing::Test {};
using flowsampler::test::Reals;
TYPED_TEST_SUITE(SimtPairwise, Reals);

TYPED_TEST(SimtPairwise, BodyEqualsCpuBackendForEveryReduction) {
  using Real = TypeParam;
  const double tol = sizeof(Real) == 4 ? 1e-5 : 1e-12;
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  for (const Case& c : cases) {
    const auto x = random_vec<Real>(c.n * c.d, 1 + c.n), y = random_vec<Real>(c.m * c.d, 2 + c.m);
    std::vector<Real> w = random_vec<Real>(c.m, 3);
    for (auto& e : w) e = Real(std::fabs(double(e)));
    const auto X = fs::ParticleSet<Real>::from_column_major(ctx, x.data(), c.n, c.d);
    const auto Y = fs::ParticleSet<Real>::from_column_major(ctx, y.data(), c.m, c.d);
    std::vector<Real> out, lse;
    std::vector<std::uint32_t> idx;

    const fk::KernelGradSumOp<fk::KernelKind::gaussian, Real, true> grad{{Real(1), Real(1)}};
    emulate<fk::Reduction::sum>(grad, c, x, y, w, out, lse, idx, 0);
    fs::ParticleSet<Real> ref(ctx, c.n, c.d);
    fs::pairwise::detail::run<fk::Reduction::sum>(ctx, grad, X, Y, w.data(), ref.data());
    for (std::size_t e = 0; e < out.size(); ++e) ASSERT_NEAR(out[e], ref.data()[e], tol * (1 + std::fabs(double(out[e]))));

    const fk::MeanShiftOp<Real, false> ms{Real(-0.5)};
    emulate<fk::Reduction::softmax>(ms, c, x, y, w, out, lse, idx, 0);
    fs::ParticleSet<Real> ref_lse(ctx, c.n, 1);
    fs::pairwise::detail::run<fk::Reduction::softmax>(ctx, ms, X, Y, nullptr, ref.data(), ref_lse.data());
    for (std::size_t e = 0; e < out.size(); ++e) ASSERT_NEAR(out[e], ref.data()[e], tol * 10);
    for (std::size_t i = 0; i < c.n; ++i) ASSERT_NEAR(lse[i], ref_lse.data()[i], tol * (1 + std::fabs(double(lse[i]))));

    const int k = 4;
    emulate<fk::Reduction::kmin>(fk::SqDistOp<Real>{}, c, x, y, w, out, lse, idx, k);
    fs::ParticleSet<Real> ref_d(ctx, c.n, k);
    std::vector<std::uint32_t> ref_i(c.n * k);
    fs::pairwise::detail::run<fk::Reduction::kmin>(ctx, fk::SqDistOp<Real>{}, X, Y, nullptr, ref_d.data(), nullptr,
                                                   ref_i.data(), k);
    for (std::size_t e = 0; e < out.size(); ++e) {
      ASSERT_EQ(out[e], ref_d.data()[e]) << "kmin distance " << e;
      ASSERT_EQ(idx[e], ref_i[e]) << "kmin index " << e;
    }
  }
}


// Where a compile-time D would hold more lane state than the register budget
// (pairwise/device_dim.hpp), the CUDA launcher runs the runtime-d body instead
// of one that spills; emulate() picks the same instantiation. Those bodies
// match the CPU backend (which keeps its compile-time D) and a slow loop.
TYPED_TEST(SimtPairwise, OverBudgetDimensionsRunTheRuntimeDPathAndMatchTheCpu) {
  using Real = TypeParam;
  using Grad = fk::KernelGradSumOp<fk::KernelKind::gaussian, Real, true>;
  using Shift = fk::MeanShiftOp<Real, false>;
  constexpr bool is_float = std::is_same_v<Real, float>;
  static_assert(fk::device_dim<Grad, Real, 64>() == 0 && fk::device_dim<Shift, Real, 64>() == 0);
  static_assert(fk::device_dim<Grad, Real, 32>() == (is_float ? 32 : 0));
  static_assert(fk::device_dim<Grad, Real, 8>() == 8);
  static_assert(fk::device_dim<fk::KernelSumOp<fk::KernelKind::gaussian, Real, true>, Real, 64>() == 64);
  static_assert(fk::device_dim<fk::GmmOp<Real, true>, Real, 16>() == 0 && fk::device_dim<fk::GmmOp<Real, false>, Real, 4>() == 4);
  static_assert(fk::device_dim<fk::GmmOp<Real, true, fk::GmmValues::score>, Real, 8>() == (is_float ? 8 : 0));

  const double tol = is_float ? 2e-5 : 1e-12;
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const Real h = 2;
  for (const Case& c : {Case{37, 100, 64, 32, 4}, Case{20, 70, 32, 16, 1}}) {
    auto x = random_vec<Real>(c.n * c.d, 11 + c.n), y = random_vec<Real>(c.m * c.d, 12 + c.m);
    for (auto* v : {&x, &y})
      for (auto& e : *v) e = Real(0.3) * e;  // |x - y| of a few bandwidths
    std::vector<Real> w = random_vec<Real>(c.m, 13);
    for (auto& e : w) e = Real(std::fabs(double(e)));
    const auto X = fs::ParticleSet<Real>::from_column_major(ctx, x.data(), c.n, c.d);
    const auto Y = fs::ParticleSet<Real>::from_column_major(ctx, y.data(), c.m, c.d);
    auto r2 = [&](std::size_t i, std::size_t j) {
      double s = 0;
      for (int k = 0; k < c.d; ++k) s += std::pow(double(x[k * c.n + i]) - double(y[k * c.m + j]), 2);
      return s;
    };
    std::vector<Real> out, lse;
    std::vector<std::uint32_t> idx;

    // sum_j w_j grad_x exp(-|x - y_j|^2 / (2 h^2)) = sum_j w_j (-1/h^2) exp(...) (x - y_j)
    const Grad grad{{Real(1) / h, Real(1) / (h * h)}};
    emulate<fk::Reduction::sum>(grad, c, x, y, w, out, lse, idx, 0);
    fs::ParticleSet<Real> ref(ctx, c.n, c.d);
    fs::pairwise::detail::run<fk::Reduction::sum>(ctx, grad, X, Y, w.data(), ref.data());
    for (std::size_t i = 0; i < c.n; ++i)
      for (int k = 0; k < c.d; ++k) {
        double slow = 0;
        for (std::size_t j = 0; j < c.m; ++j)
          slow += double(w[j]) * -std::exp(-r2(i, j) / (2 * h * h)) / (h * h) * (double(x[k * c.n + i]) - double(y[k * c.m + j]));
        const std::size_t e = k * c.n + i;
        ASSERT_NEAR(out[e], ref.data()[e], tol * (1 + std::fabs(slow))) << "d " << c.d << " entry " << e;
        ASSERT_NEAR(out[e], slow, 10 * tol * (1 + std::fabs(slow))) << "d " << c.d << " entry " << e;
      }

    // Mean shift: softmax_j(-|x - y_j|^2 / 2) weighted mean of y_j - x, and its log-normalizer.
    const Shift shift{Real(-0.5)};
    emulate<fk::Reduction::softmax>(shift, c, x, y, w, out, lse, idx, 0);
    fs::ParticleSet<Real> ref_lse(ctx, c.n, 1);
    fs::pairwise::detail::run<fk::Reduction::softmax>(ctx, shift, X, Y, nullptr, ref.data(), ref_lse.data());
    for (std::size_t i = 0; i < c.n; ++i) {
      double top = -INFINITY;
      for (std::size_t j = 0; j < c.m; ++j) top = std::max(top, -0.5 * r2(i, j));
      double s = 0;
      std::vector<double> mean(c.d, 0.0);
      for (std::size_t j = 0; j < c.m; ++j) {
        const double e = std::exp(-0.5 * r2(i, j) - top);
        s += e;
        for (int k = 0; k < c.d; ++k) mean[k] += e * (double(y[k * c.m + j]) - double(x[k * c.n + i]));
      }
      ASSERT_NEAR(lse[i], ref_lse.data()[i], tol * (1 + std::fabs(double(lse[i]))));
      ASSERT_NEAR(lse[i], top + std::log(s), 10 * tol * (1 + std::fabs(top)));
      for (int k = 0; k < c.d; ++k) {
        const std::size_t e = k * c.n + i;
        ASSERT_NEAR(out[e], ref.data()[e], 10 * tol) << "d " << c.d << " entry " << e;
        ASSERT_NEAR(out[e], mean[k] / s, 10 * tol) << "d " << c.d << " entry " << e;
      }
    }
  }
}
