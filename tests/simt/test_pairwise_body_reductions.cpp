// The CUDA kernel body of the pairwise engine (kernels/pairwise/body.hpp) runs
// under the fiber emulator and is compared with the CPU backend, for each
// reduction, compile-time and runtime d, and sizes that are not multiples of
// the block.
#include "pairwise_body_testing.hpp"

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

