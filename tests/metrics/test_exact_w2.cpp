#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "flowsampler/core/error.hpp"
#include "flowsampler/metrics/exact_w2.hpp"

namespace fs = flowsampler;
using fs::metrics::exact_assignment;

namespace {

template <class Real>
std::vector<Real> normal_cloud(std::mt19937& rng, std::size_t n, std::size_t d, double scale = 1.0) {
  std::normal_distribution<double> g(0.0, scale);
  std::vector<Real> p(n * d);
  for (Real& t : p) t = static_cast<Real>(g(rng));
  return p;
}

template <class Real>
double sq(const std::vector<Real>& x, const std::vector<Real>& y, std::size_t n, std::size_t d, std::size_t i,
          std::size_t j) {
  double c = 0;
  for (std::size_t k = 0; k < d; ++k) {
    const double t = double(x[k * n + i]) - double(y[k * n + j]);
    c += t * t;
  }
  return c;
}

template <class Real>
double brute_force(const std::vector<Real>& x, const std::vector<Real>& y, std::size_t n, std::size_t d) {
  std::vector<std::size_t> p(n);
  std::iota(p.begin(), p.end(), 0);
  double best = std::numeric_limits<double>::infinity();
  do {
    double c = 0;
    for (std::size_t i = 0; i < n; ++i) c += sq(x, y, n, d, i, p[i]);
    best = std::min(best, c);
  } while (std::next_permutation(p.begin(), p.end()));
  return best / double(n);
}

bool is_permutation(const std::vector<std::size_t>& m) {
  std::vector<char> seen(m.size(), 0);
  for (const std::size_t j : m) {
    if (j >= m.size() || seen[j]) return false;
    seen[j] = 1;
  }
  return true;
}

// Checks the LP certificate: reduced costs c_ij - u_i - v_j >= -tol for all pairs,
// zero on the matched pairs (so the dual objective equals the primal one).
template <class Real>
void expect_dual_certificate(const std::vector<Real>& x, const std::vector<Real>& y, std::size_t n, std::size_t d,
                             const fs::metrics::Assignment& a, double tol) {
  ASSERT_EQ(a.u.size(), n);
  ASSERT_EQ(a.v.size(), n);
  double worst = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) worst = std::min(worst, sq(x, y, n, d, i, j) - a.u[i] - a.v[j]);
  EXPECT_GE(worst, -tol);
  long double dual = 0;
  for (std::size_t i = 0; i < n; ++i) dual += (long double)a.u[i] + a.v[i];
  EXPECT_NEAR(double(dual / n), a.cost, tol);
}

template <class Real>
class ExactW2Test : public ::testing::Test {};
using Reals = ::testing::Types<float, double>;
TYPED_TEST_SUITE(ExactW2Test, Reals);

}  // namespace

TYPED_TEST(ExactW2Test, MatchesBruteForceOverAllPermutations) {
  using Real = TypeParam;
  for (unsigned seed = 1; seed <= 6; ++seed) {
    std::mt19937 rng(seed);
    for (std::size_t n = 1; n <= 8; ++n) {
      const std::size_t d = 1 + rng() % 3;
      const auto x = normal_cloud<Real>(rng, n, d);
      const auto y = normal_cloud<Real>(rng, n, d, 1.5);
      const auto a = exact_assignment(x.data(), y.data(), n, d);
      ASSERT_TRUE(is_permutation(a.match));
      const double want = brute_force(x, y, n, d);
      EXPECT_NEAR(a.cost, want, 1e-12 * std::max(want, 1e-300)) << "seed " << seed << " n " << n << " d " << d;
      double direct = 0;
      for (std::size_t i = 0; i < n; ++i) direct += sq(x, y, n, d, i, a.match[i]);
      EXPECT_NEAR(a.cost, direct / double(n), 1e-14 * direct);
      expect_dual_certificate(x, y, n, d, a, 1e-12 * (1 + want));
    }
  }
}

TYPED_TEST(ExactW2Test, DegenerateCloudsWithTiesStillMatchBruteForce) {
  using Real = TypeParam;
  // Points on a small integer grid: many equal distances, the hard case for tie handling.
  for (unsigned seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    const std::size_t n = 2 + rng() % 7, d = 1 + rng() % 2;
    std::vector<Real> x(n * d), y(n * d);
    for (Real& t : x) t = Real(int(rng() % 3));
    for (Real& t : y) t = Real(int(rng() % 3));
    const auto a = exact_assignment(x.data(), y.data(), n, d);
    ASSERT_TRUE(is_permutation(a.match));
    EXPECT_DOUBLE_EQ(a.cost, brute_force(x, y, n, d)) << "seed " << seed;
  }
}

TYPED_TEST(ExactW2Test, OneDimensionEqualsSortedMatching) {
  using Real = TypeParam;
  std::mt19937 rng(7);
  for (std::size_t n : {1u, 2u, 17u, 500u, 1500u}) {
    const auto x = normal_cloud<Real>(rng, n, 1);
    auto y = normal_cloud<Real>(rng, n, 1, 2.0);
    for (Real& t : y) t = Real(t + 0.5);
    std::vector<Real> xs = x, ys = y;
    std::sort(xs.begin(), xs.end());
    std::sort(ys.begin(), ys.end());
    long double want = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double t = double(xs[i]) - double(ys[i]);
      want += t * t;
    }
    const double w = double(want / n);
    const auto a = exact_assignment(x.data(), y.data(), n, 1);
    ASSERT_TRUE(is_permutation(a.match));
    EXPECT_NEAR(a.cost, w, 1e-12 * w) << "n " << n;
  }
}

TYPED_TEST(ExactW2Test, LargeRandomIsAPermutationWithNoImprovingSwapAndADualCertificate) {
  using Real = TypeParam;
  std::mt19937 rng(2024);
  const std::size_t n = 300;
  for (std::size_t d : {2u, 3u, 10u}) {
    const auto x = normal_cloud<Real>(rng, n, d);
    const auto y = normal_cloud<Real>(rng, n, d);
    const auto a = exact_assignment(x.data(), y.data(), n, d);
    ASSERT_TRUE(is_permutation(a.match));
    const double tol = 1e-10 * (1 + a.cost);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t k = i + 1; k < n; ++k) {
        const std::size_t ji = a.match[i], jk = a.match[k];
        const double now = sq(x, y, n, d, i, ji) + sq(x, y, n, d, k, jk);
        const double swapped = sq(x, y, n, d, i, jk) + sq(x, y, n, d, k, ji);
        ASSERT_GE(swapped, now - tol) << "swapping rows " << i << " and " << k << " improves the cost";
      }
    expect_dual_certificate(x, y, n, d, a, tol);
  }
}

TEST(ExactW2, ShiftedCloudMatchesItselfAtTheSquaredShift) {
  // y = x + s: every assignment costs at least |s|^2 (the means differ by s), and the
  // identity attains it, so W2^2 = |s|^2 exactly.
  std::mt19937 rng(3);
  const std::size_t n = 400, d = 3;
  auto x = normal_cloud<double>(rng, n, d);
  std::vector<double> y = x;
  const double s[3] = {0.25, -0.5, 1.0};
  for (std::size_t k = 0; k < d; ++k)
    for (std::size_t i = 0; i < n; ++i) y[k * n + i] += s[k];
  const auto a = exact_assignment(x.data(), y.data(), n, d);
  EXPECT_NEAR(a.cost, 0.25 * 0.25 + 0.5 * 0.5 + 1.0, 1e-12);
}

TEST(ExactW2, PermutedCopyCostsZeroAndRecoversThePermutation) {
  std::mt19937 rng(11);
  const std::size_t n = 257, d = 2;
  const auto x = normal_cloud<double>(rng, n, d);
  std::vector<std::size_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  std::vector<double> y(n * d);
  for (std::size_t k = 0; k < d; ++k)
    for (std::size_t i = 0; i < n; ++i) y[k * n + perm[i]] = x[k * n + i];
  const auto a = exact_assignment(x.data(), y.data(), n, d);
  EXPECT_EQ(a.cost, 0.0);
  EXPECT_EQ(a.match, perm);
}

TEST(ExactW2, ManyDimensionsMatchBruteForce) {
  // d > 6 takes the dense-matrix path (smaller d recomputes distances on the fly).
  for (unsigned seed = 1; seed <= 10; ++seed) {
    std::mt19937 rng(100 + seed);
    const std::size_t n = 1 + rng() % 8, d = 7 + rng() % 6;
    const auto x = normal_cloud<double>(rng, n, d);
    const auto y = normal_cloud<double>(rng, n, d);
    const auto a = exact_assignment(x.data(), y.data(), n, d);
    ASSERT_TRUE(is_permutation(a.match));
    const double want = brute_force(x, y, n, d);
    EXPECT_NEAR(a.cost, want, 1e-12 * want) << "seed " << seed << " n " << n << " d " << d;
    expect_dual_certificate(x, y, n, d, a, 1e-12 * (1 + want));
  }
}

TEST(ExactW2, AboveTheDenseLimitManyDimensionsHasADualCertificate) {
  // n above the dense-matrix limit with d > 6: distances recomputed, run-time d.
  std::mt19937 rng(5);
  const std::size_t n = 4100, d = 7;
  const auto x = normal_cloud<double>(rng, n, d);
  const auto y = normal_cloud<double>(rng, n, d);
  const auto a = exact_assignment(x.data(), y.data(), n, d);
  ASSERT_TRUE(is_permutation(a.match));
  expect_dual_certificate(x, y, n, d, a, 1e-10 * (1 + a.cost));
}

TEST(ExactW2, BadInputThrows) {
  const std::vector<double> p(6, 0.5);
  const double* x = p.data();
  EXPECT_THROW(exact_assignment(x, x, 0, 3), fs::Error);
  EXPECT_THROW(exact_assignment(x, x, 2, 0), fs::Error);
  EXPECT_THROW(exact_assignment(static_cast<const double*>(nullptr), x, 2, 3), fs::Error);
  EXPECT_THROW(exact_assignment(x, static_cast<const double*>(nullptr), 2, 3), fs::Error);
  EXPECT_THROW(exact_assignment(x, x, fs::metrics::exact_assignment_max_n + 1, 1), fs::Error);
  EXPECT_THROW(exact_assignment(x, x, 2, std::numeric_limits<std::size_t>::max() / 4), fs::Error);
  for (const double bad : {std::nan(""), std::numeric_limits<double>::infinity(), 1e300}) {
    std::vector<double> q = p;
    q[4] = bad;
    EXPECT_THROW(exact_assignment(q.data(), x, 2, 3), fs::Error) << bad;
    EXPECT_THROW(exact_assignment(x, q.data(), 2, 3), fs::Error) << bad;
  }
  std::vector<float> f(6, 0.5f);
  f[0] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(exact_assignment(f.data(), f.data(), 3, 2), fs::Error);
  try {
    exact_assignment(x, x, 2, 0);
  } catch (const fs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("d (dimension)"), std::string::npos) << e.what();
  }
}
