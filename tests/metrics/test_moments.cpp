#include <gtest/gtest.h>

#include "typed.hpp"

#include "flowsampler/core/error.hpp"
#include "flowsampler/metrics/moments.hpp"

namespace fs = flowsampler;

template <class Real>
class MomentsTest : public ::testing::Test {};
using flowsampler::test::Reals;
TYPED_TEST_SUITE(MomentsTest, Reals);

TYPED_TEST(MomentsTest, ColumnSumsAndMeanMatchAnExactLoop) {
  using Real = TypeParam;
  const fs::Context ctx = fs::Context::create(fs::Backend::automatic);
  for (std::size_t n : {1u, 7u, 1000u, 70001u}) {
    const std::size_t d = 3;
    std::vector<Real> rows(n * d);
    std::vector<long double> want(d, 0);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t k = 0; k < d; ++k) {
        // Small integers and dyadic fractions: their sums are exact in double.
        rows[i * d + k] = Real(double((i * 37 + k * 11) % 101) - 50.0 + 0.25 * double(k));
        want[k] += rows[i * d + k];
      }
    const auto x = fs::ParticleSet<Real>::from_row_major(ctx, rows.data(), n, d);
    const auto sums = fs::metrics::column_sums(ctx, x);
    const auto mean = fs::metrics::mean(ctx, x);
    for (std::size_t k = 0; k < d; ++k) {
      EXPECT_EQ(sums[k], double(want[k])) << "n=" << n << " k=" << k;
      EXPECT_DOUBLE_EQ(mean[k], double(want[k] / n));
    }
  }
  fs::ParticleSet<Real> empty(ctx, 0, 2);
  EXPECT_EQ(fs::metrics::column_sums(ctx, empty), std::vector<double>(2, 0.0));
  EXPECT_THROW(fs::metrics::mean(ctx, empty), fs::Error);
}
