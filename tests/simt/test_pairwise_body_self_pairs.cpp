// The softmax without self pairs on the emulated pairwise body against the CPU backend.
#include "pairwise_body_testing.hpp"

using namespace flowsampler::test::pairwise_body;

template <class Real>
class SimtPairwise : public ::testing::Test {};
using flowsampler::test::Reals;
TYPED_TEST_SUITE(SimtPairwise, Reals);

// Leaving out the pairs j = i (a set against itself): the body masks the
// diagonal row of the tile that holds it, the CPU backend the lane's own
// logit; both must agree, on tile sizes that cut through the diagonal.
TYPED_TEST(SimtPairwise, BodyEqualsCpuBackendWithoutSelfPairs) {
  using Real = TypeParam;
  const double tol = sizeof(Real) == 4 ? 1e-5 : 1e-12;
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  for (const Case& base : cases) {
    Case c = base;
    c.m = c.n;
    const auto x = random_vec<Real>(c.n * c.d, 11 + c.n);
    const auto X = fs::ParticleSet<Real>::from_column_major(ctx, x.data(), c.n, c.d);
    std::vector<Real> out, lse, none;
    std::vector<std::uint32_t> idx;
    const fk::MeanShiftOp<Real, false> ms{Real(-0.5)};
    emulate<fk::Reduction::softmax>(ms, c, x, x, none, out, lse, idx, 0, true);
    fs::ParticleSet<Real> ref(ctx, c.n, c.d), ref_lse(ctx, c.n, 1);
    fs::pairwise::detail::run<fk::Reduction::softmax>(ctx, ms, X, X, nullptr, ref.data(), ref_lse.data(), nullptr, 0, true);
    for (std::size_t e = 0; e < out.size(); ++e) ASSERT_NEAR(out[e], ref.data()[e], tol * 10) << "n = " << c.n;
    for (std::size_t i = 0; i < c.n; ++i) {
      if (c.n == 1) {  // alone: nothing left
        EXPECT_TRUE(std::isinf(double(lse[i])) && lse[i] < 0);
        EXPECT_TRUE(std::isinf(double(ref_lse.data()[i])) && ref_lse.data()[i] < 0);
        continue;
      }
      ASSERT_NEAR(lse[i], ref_lse.data()[i], tol * (1 + std::fabs(double(lse[i])))) << "n = " << c.n;
    }
  }
}
