// Covariance, Bures/Gelbrich, sliced W2, MMD and energy distance against
// closed forms and slow loops.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "flowsampler/core/error.hpp"
#include "flowsampler/metrics/exact_w2.hpp"
#include "flowsampler/metrics/gaussian_w2.hpp"
#include "flowsampler/metrics/mmd.hpp"
#include "flowsampler/metrics/moments.hpp"
#include "flowsampler/metrics/sliced_w2.hpp"
#include "typed.hpp"

namespace fs = flowsampler;
namespace fm = flowsampler::metrics;

namespace {

template <class Real>
fs::ParticleSet<Real> cloud(const fs::Context& ctx, std::size_t n, std::size_t d, unsigned seed, double shift = 0,
                            double scale = 1) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> n01;
  std::vector<Real> cols(n * d);
  for (std::size_t e = 0; e < cols.size(); ++e) cols[e] = static_cast<Real>(shift + scale * n01(rng));
  return fs::ParticleSet<Real>::from_column_major(ctx, cols.data(), n, d);
}

// k(r) of the four kernels, in long double.
long double kernel(fs::pairwise::Kernel k, long double r, long double h) {
  switch (k) {
    case fs::pairwise::Kernel::gaussian: return std::exp(-r * r / (2 * h * h));
    case fs::pairwise::Kernel::laplace: return std::exp(-r / h);
    case fs::pairwise::Kernel::imq: return 1 / std::sqrt(1 + r * r / (h * h));
    case fs::pairwise::Kernel::energy: return -r / h;
  }
  return 0;
}

template <class Real>
long double naive_mean_kernel(const fs::ParticleSet<Real>& a, const fs::ParticleSet<Real>& b, fs::pairwise::Kernel k,
                              double h, bool skip_diagonal) {
  long double s = 0;
  for (std::size_t i = 0; i < a.n(); ++i)
    for (std::size_t j = 0; j < b.n(); ++j) {
      if (skip_diagonal && i == j) continue;
      long double r2 = 0;
      for (std::size_t c = 0; c < a.d(); ++c) r2 += std::pow((long double)a.at(i, c) - (long double)b.at(j, c), 2);
      s += kernel(k, std::sqrt(r2), h);
    }
  const long double pairs = skip_diagonal ? (long double)a.n() * (a.n() - 1) : (long double)a.n() * b.n();
  return s / pairs;
}

}  // namespace

template <class Real>
class DistanceTest : public ::testing::Test {};
using flowsampler::test::Reals;
TYPED_TEST_SUITE(DistanceTest, Reals);

TYPED_TEST(DistanceTest, CovarianceIsStableUnderALargeOffset) {
  using Real = TypeParam;
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  for (std::size_t n : {2u, 17u, 20000u}) {
    // Offset 1000, spread 1: a one-pass E[x^2] - E[x]^2 in float would lose every digit.
    const auto x = cloud<Real>(ctx, n, 3, 7, 1000.0, 1.0);
    const auto S = fm::covariance(ctx, x);
    for (std::size_t a = 0; a < 3; ++a)
      for (std::size_t b = 0; b < 3; ++b) {
        long double ma = 0, mb = 0, s = 0;
        for (std::size_t i = 0; i < n; ++i) ma += x.at(i, a), mb += x.at(i, b);
        ma /= n, mb /= n;
        for (std::size_t i = 0; i < n; ++i) s += (x.at(i, a) - ma) * (x.at(i, b) - mb);
        EXPECT_NEAR(S[a * 3 + b], double(s / (n - 1)), 1e-9 * (1 + std::fabs(double(s / (n - 1))))) << n;
      }
  }
  EXPECT_THROW(fm::covariance(ctx, cloud<Real>(ctx, 1, 2, 1)), fs::Error);
  EXPECT_NO_THROW(fm::covariance(ctx, cloud<Real>(ctx, 1, 2, 1), false));
}

TEST(Bures, ClosedForms) {
  // Commuting (diagonal): |m1 - m2|^2 + |S1^1/2 - S2^1/2|_F^2.
  EXPECT_NEAR(fm::bures_w2_squared({0, 1}, {4, 0, 0, 1}, {1, 1}, {1, 0, 0, 9}), 1 + 1 + 4, 1e-12);
  // Non-commuting 2 x 2: tr((A^1/2 B A^1/2)^1/2) = sqrt(tr(AB) + 2 sqrt(det A det B)).
  const std::vector<double> A = {2, 0.7, 0.7, 1}, B = {0.5, -0.2, -0.2, 3};
  const double trAB = A[0] * B[0] + A[1] * B[2] + A[2] * B[1] + A[3] * B[3];
  const double detA = A[0] * A[3] - A[1] * A[2], detB = B[0] * B[3] - B[1] * B[2];
  const double want = (A[0] + A[3]) + (B[0] + B[3]) - 2 * std::sqrt(trAB + 2 * std::sqrt(detA * detB));
  EXPECT_NEAR(fm::bures_w2_squared({0, 0}, A, {0, 0}, B), want, 1e-12);
  EXPECT_NEAR(fm::bures_w2_squared({0, 0}, B, {0, 0}, A), want, 1e-12);
  EXPECT_NEAR(fm::bures_w2_squared({3, 4}, A, {3, 4}, A), 0.0, 1e-12);
  // A singular covariance (a Dirac in one direction) is allowed.
  EXPECT_NEAR(fm::bures_w2_squared({0, 0}, {1, 0, 0, 0}, {0, 0}, {1, 0, 0, 0}), 0.0, 1e-12);
  EXPECT_THROW(fm::bures_w2_squared({0, 0}, {1, 2, 0, 1}, {0, 0}, A), fs::Error);   // asymmetric
  EXPECT_THROW(fm::bures_w2_squared({0, 0}, {1, 0, 0, -1}, {0, 0}, A), fs::Error);  // indefinite
  EXPECT_THROW(fm::bures_w2_squared({0}, A, {0, 0}, A), fs::Error);
  EXPECT_THROW(fm::bures_w2_squared({0, NAN}, A, {0, 0}, A), fs::Error);
}

TEST(Bures, GelbrichOfLargeGaussianSamplesApproachesBures) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const auto x = cloud<double>(ctx, 100000, 2, 1, 0.0, 1.0), y = cloud<double>(ctx, 100000, 2, 2, 0.5, 2.0);
  // N(0, I) vs N(0.5, 4 I): 2 * 0.25 + 2 * (2 - 1)^2 = 2.5.
  EXPECT_NEAR(fm::gelbrich_w2_squared(ctx, x, y), 2.5, 0.05);
}

TYPED_TEST(DistanceTest, SlicedW2InOneDimensionIsTheExactW2) {
  using Real = TypeParam;
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  for (auto [n, m] : {std::pair<std::size_t, std::size_t>{1000, 1000}, {6, 4}, {1000, 777}, {1, 5}}) {
    const auto x = cloud<Real>(ctx, n, 1, 3, 0.0, 1.0), y = cloud<Real>(ctx, m, 1, 4, 0.3, 1.5);
    // Reference: repeat each atom of x m times and of y n times, sort, pair up.
    std::vector<double> u, v;
    for (std::size_t i = 0; i < n; ++i) u.insert(u.end(), m, double(x.at(i, 0)));
    for (std::size_t j = 0; j < m; ++j) v.insert(v.end(), n, double(y.at(j, 0)));
    std::sort(u.begin(), u.end());
    std::sort(v.begin(), v.end());
    long double want = 0;
    for (std::size_t e = 0; e < u.size(); ++e) want += (long double)(u[e] - v[e]) * (u[e] - v[e]);
    want /= u.size();
    const auto r = fm::sliced_w2(ctx, x, y, 3);  // in 1-D every direction is +-1
    EXPECT_NEAR(r.w2_squared, double(want), 1e-9 * double(want)) << n << " " << m;
    EXPECT_NEAR(r.std_error, 0.0, 1e-9 * double(want));
  }
}

TYPED_TEST(DistanceTest, SlicedW2OfShiftedGaussians) {
  using Real = TypeParam;
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const std::size_t d = 4;
  // N(0, I) vs N(0.5 * 1, I): SW2^2 = E (theta . mu)^2 = |mu|^2 / d = 0.25, up to sampling error.
  const auto x = cloud<Real>(ctx, 50000, d, 5), y = cloud<Real>(ctx, 50000, d, 6, 0.5);
  const auto r = fm::sliced_w2(ctx, x, y, 400, 9);
  EXPECT_NEAR(r.w2_squared, 0.25, 4 * r.std_error + 0.01);
  EXPECT_GT(r.std_error, 0.0);
  const auto same = fm::sliced_w2(ctx, x, y, 400, 9);
  EXPECT_EQ(same.w2_squared, r.w2_squared);  // seeded directions
  EXPECT_THROW(fm::sliced_w2(ctx, x, cloud<Real>(ctx, 10, 3, 1), 4), fs::Error);
  EXPECT_THROW(fm::sliced_w2(ctx, x, y, 0), fs::Error);
  EXPECT_THROW(fm::sliced_w2(ctx, fs::ParticleSet<Real>(ctx, 0, d), y, 4), fs::Error);
}

TYPED_TEST(DistanceTest, MmdAndEnergyMatchTheDoubleLoop) {
  using Real = TypeParam;
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const auto x = cloud<Real>(ctx, 300, 3, 10), y = cloud<Real>(ctx, 211, 3, 11, 0.4, 1.2);
  const double tol = sizeof(Real) == 4 ? 2e-5 : 1e-11;
  for (auto k : {fs::pairwise::Kernel::gaussian, fs::pairwise::Kernel::laplace, fs::pairwise::Kernel::imq,
                 fs::pairwise::Kernel::energy}) {
    const double h = 0.8;
    for (bool unbiased : {false, true}) {
      const long double want = naive_mean_kernel(x, x, k, h, unbiased) + naive_mean_kernel(y, y, k, h, unbiased) -
                               2 * naive_mean_kernel(x, y, k, h, false);
      const double got = fm::mmd_squared(ctx, {k, h}, x, y, unbiased);
      EXPECT_NEAR(got, double(want), tol) << fs::pairwise::to_string(k) << " unbiased " << unbiased;
    }
  }
  const long double ed = 2 * naive_mean_kernel(x, y, fs::pairwise::Kernel::energy, -1, false) -
                         naive_mean_kernel(x, x, fs::pairwise::Kernel::energy, -1, false) -
                         naive_mean_kernel(y, y, fs::pairwise::Kernel::energy, -1, false);
  EXPECT_NEAR(fm::energy_distance(ctx, x, y), double(ed), 10 * tol);
  EXPECT_THROW(fm::mmd_squared(ctx, {}, x, cloud<Real>(ctx, 10, 2, 1)), fs::Error);
  EXPECT_THROW(fm::mmd_squared(ctx, {}, x, fs::ParticleSet<Real>(ctx, 0, 3)), fs::Error);
  EXPECT_THROW(fm::mmd_squared(ctx, {}, x, cloud<Real>(ctx, 1, 3, 1), true), fs::Error);
}

// Gelbrich <= exact W2^2 <= ... and sliced W2^2 <= W2^2 on small clouds.
TEST(Bures, GelbrichAndSlicedBoundTheExactW2) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  for (unsigned seed = 1; seed <= 5; ++seed) {
    const auto x = cloud<double>(ctx, 200, 3, seed, 0.0, 1.0), y = cloud<double>(ctx, 200, 3, seed + 100, 0.3, 1.4);
    const double exact = fm::exact_assignment(x, y).cost;
    EXPECT_LE(fm::gelbrich_w2_squared(ctx, x, y), exact * (1 + 1e-12)) << seed;
    EXPECT_LE(fm::sliced_w2(ctx, x, y, 50, seed).w2_squared, exact * (1 + 1e-12)) << seed;
  }
  EXPECT_THROW(fm::exact_assignment(cloud<double>(ctx, 5, 2, 1), cloud<double>(ctx, 6, 2, 1)), fs::Error);
}
