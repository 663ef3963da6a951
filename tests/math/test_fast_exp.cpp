// fast_exp against long double expl over the whole input range, ulp by ulp.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "math/fast_exp.hpp"

namespace {
template <class Real>
double ulp_error(Real got, long double want) {
  if (want == 0) return got == 0 ? 0 : INFINITY;
  const Real w = static_cast<Real>(want);
  if (std::isinf(w)) return std::isinf(got) ? 0 : INFINITY;
  // Spacing of Real at the true value (the subnormal spacing below the normal range).
  const long double spacing = std::max<long double>(
      std::nextafter(std::fabs(w), std::numeric_limits<Real>::infinity()) - std::fabs(w),
      std::numeric_limits<Real>::denorm_min());
  return static_cast<double>(std::fabs((long double)got - want) / spacing);
}
}  // namespace

TEST(FastExp, FloatWithinTwoUlpOverTheWholeRange) {
  using flowsampler::kernels::fast_exp;
  double worst = 0, worst_at = 0;
  // Every 97th float between -104 and 89, which walks through all exponents.
  for (float x = -104.0f; x < 89.0f; x = std::nextafter(x + std::fabs(x) * 1e-5f + 1e-7f, 100.0f)) {
    const double e = ulp_error(fast_exp(x), std::exp((long double)x));
    if (e > worst) worst = e, worst_at = x;
  }
  EXPECT_LE(worst, 2.0) << "at x = " << worst_at;
}

TEST(FastExp, DoubleWithinTwoUlpOverTheWholeRange) {
  using flowsampler::kernels::fast_exp;
  double worst = 0, worst_at = 0;
  for (double x = -746.0; x < 710.0; x += 0.000731 * (1 + std::fabs(x) * 0.01)) {
    const double e = ulp_error(fast_exp(x), std::exp((long double)x));
    if (e > worst) worst = e, worst_at = x;
  }
  EXPECT_LE(worst, 2.0) << "at x = " << worst_at;
}

TEST(FastExp, SpecialValues) {
  using flowsampler::kernels::fast_exp;
  for (float x : {-INFINITY, -1000.0f, -104.0f}) EXPECT_EQ(fast_exp(x), 0.0f) << x;
  for (double x : {-(double)INFINITY, -1e5, -746.0}) EXPECT_EQ(fast_exp(x), 0.0) << x;
  EXPECT_EQ(fast_exp(INFINITY), INFINITY);
  EXPECT_EQ(fast_exp(1000.0f), INFINITY);
  EXPECT_EQ(fast_exp((double)INFINITY), (double)INFINITY);
  EXPECT_EQ(fast_exp(800.0), (double)INFINITY);
  EXPECT_TRUE(std::isnan(fast_exp(NAN)));
  EXPECT_TRUE(std::isnan(fast_exp((double)NAN)));
  EXPECT_EQ(fast_exp(0.0f), 1.0f);
  EXPECT_EQ(fast_exp(0.0), 1.0);
  // Deep in the subnormal range the result is still right to its spacing.
  EXPECT_LE(ulp_error(fast_exp(-100.0f), std::exp(-100.0L)), 1.0);
  EXPECT_LE(ulp_error(fast_exp(-740.0), std::exp(-740.0L)), 1.0);
}

// The softmax's exp of shifted logits: 2 ulp from -87 (float) / -708 (double)
// up to 88 / 709, 0 below, NaN kept.
TEST(FastExpShifted, WithinTwoUlpOverItsRangeAndZeroBelow) {
  using flowsampler::kernels::fast_exp_shifted;
  double worst = 0, worst_at = 0;
  for (float x = -87.0f; x < 88.0f; x = std::nextafter(x + std::fabs(x) * 1e-5f + 1e-7f, 100.0f)) {
    const double e = ulp_error(fast_exp_shifted(x), std::exp((long double)x));
    if (e > worst) worst = e, worst_at = x;
  }
  EXPECT_LE(worst, 2.0) << "float at x = " << worst_at;
  worst = 0;
  for (double x = -708.0; x < 709.0; x += 0.000731 * (1 + std::fabs(x) * 0.01)) {
    const double e = ulp_error(fast_exp_shifted(x), std::exp((long double)x));
    if (e > worst) worst = e, worst_at = x;
  }
  EXPECT_LE(worst, 2.0) << "double at x = " << worst_at;
  for (float x : {-INFINITY, -1e30f, -1000.0f, -87.01f}) EXPECT_EQ(fast_exp_shifted(x), 0.0f) << x;
  for (double x : {-(double)INFINITY, -1e300, -1e4, -708.01}) EXPECT_EQ(fast_exp_shifted(x), 0.0) << x;
  EXPECT_TRUE(std::isnan(fast_exp_shifted(NAN)));
  EXPECT_TRUE(std::isnan(fast_exp_shifted((double)NAN)));
  EXPECT_EQ(fast_exp_shifted(0.0f), 1.0f);
  EXPECT_EQ(fast_exp_shifted(0.0), 1.0);
}
