// Fisher information, map distances, Lipschitz and kNN estimators against
// closed forms for Gaussians.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "flowsampler/core/error.hpp"
#include "flowsampler/core/random.hpp"
#include "flowsampler/metrics/fisher.hpp"
#include "flowsampler/metrics/knn.hpp"
#include "flowsampler/metrics/map_distance.hpp"

namespace fs = flowsampler;
namespace fm = flowsampler::metrics;

TEST(Fisher, IsotropicGaussiansClosedForms) {
  fs::Context ctx = fs::Context::create(fs::Backend::cpu, 3, 2);
  // Same variance: the score difference is the constant (m1 - m2) / s^2, FI = |m1 - m2|^2 / s^4 exactly.
  fs::targets::GaussianMixture nu(2), mu(2);
  nu.add(1, {1.0, 0.0}, {0.5});
  mu.add(1, {0.0, 0.5}, {0.5});
  const auto r = fm::relative_fisher_information(ctx, nu, mu, 1000);
  EXPECT_NEAR(r.value, 1.25 / 0.25, 1e-9);
  EXPECT_NEAR(r.sup, 1.25 / 0.25, 1e-9);
  EXPECT_NEAR(r.std_error, 0.0, 1e-9);
  // Different variances, same mean: FI = d s1^2 (1/s2^2 - 1/s1^2)^2, within 4 standard errors.
  fs::targets::GaussianMixture a(3), b(3);
  a.add(1, {0, 0, 0}, {2.0});
  b.add(1, {0, 0, 0}, {1.0});
  const auto q = fm::relative_fisher_information(ctx, a, b, 200000);
  const double want = 3 * 2.0 * std::pow(1.0 - 0.5, 2);
  EXPECT_NEAR(q.value, want, 4 * q.std_error);
  EXPECT_GT(q.sup, q.value);
  EXPECT_THROW(fm::relative_fisher_information(ctx, nu, a, 100), fs::Error);
  EXPECT_THROW(fm::relative_fisher_information(ctx, nu, mu, 1), fs::Error);
}

TEST(MapDistance, PairedRowsAndLipschitz) {
  fs::Context ctx = fs::Context::create(fs::Backend::cpu, 4, 2);
  fs::ParticleSet<double> x(ctx, 500, 2);
  fs::fill_normal(ctx, x);
  EXPECT_EQ(fm::map_distance(ctx, x, x).l2, 0.0);
  auto shifted = x.copy(ctx);
  for (std::size_t i = 0; i < 500; ++i) shifted.at(i, 0) += 3.0, shifted.at(i, 1) -= 4.0;
  EXPECT_NEAR(fm::map_distance(ctx, x, shifted).l2, 5.0, 1e-12);
  EXPECT_NEAR(fm::map_distance(ctx, x, shifted).max, 5.0, 1e-12);
  EXPECT_THROW(fm::map_distance(ctx, x, fs::ParticleSet<double>(ctx, 499, 2)), fs::Error);
  // A linear map with singular values 3 and 0.5: ratios in [0.5, 3], the max near 3.
  const std::function<fs::ParticleSet<double>(const fs::ParticleSet<double>&)> A = [&](const fs::ParticleSet<double>& z) {
    auto out = z.copy(ctx);
    for (std::size_t i = 0; i < z.n(); ++i) out.at(i, 0) = 3 * z.at(i, 0), out.at(i, 1) = 0.5 * z.at(i, 1);
    return out;
  };
  const auto L = fm::lipschitz_estimate(ctx, A, x, 1e-3, 7);
  EXPECT_LE(L.max, 3.0 + 1e-9);
  EXPECT_GT(L.max, 2.99);
  EXPECT_GT(L.median, 0.5);
  EXPECT_LT(L.median, 3.0);
  EXPECT_THROW(fm::lipschitz_estimate(ctx, A, x, 0.0), fs::Error);
}

TEST(Knn, EntropyAndKlOfGaussians) {
  fs::Context ctx = fs::Context::create(fs::Backend::cpu, 5, 2);
  const std::size_t n = 20000, d = 3;
  fs::ParticleSet<double> x(ctx, n, d), y(ctx, n, d);
  fs::fill_normal(ctx, x);
  fs::fill_normal(ctx, y);
  for (std::size_t e = 0; e < y.size(); ++e) y.data()[e] = 0.5 + 1.5 * y.data()[e];  // N(0.5, 2.25 I)
  // H(N(0, I_3)) = 3/2 log(2 pi e).
  EXPECT_NEAR(fm::knn_entropy(ctx, x), 1.5 * std::log(2 * M_PI * M_E), 0.03);
  // KL(N(0, I) || N(m, s^2 I)) = d/2 (1/s^2 + |m|^2/(d s^2) - 1 + log s^2).
  const double s2 = 2.25, m2 = 3 * 0.25;
  const double want = 0.5 * (d / s2 + m2 / s2 - d + d * std::log(s2));
  EXPECT_NEAR(fm::knn_kl_divergence(ctx, x, y), want, 0.04);
  fs::ParticleSet<double> x2(ctx, n, d);  // an independent sample of the same law
  fs::fill_normal(ctx, x2);
  EXPECT_NEAR(fm::knn_kl_divergence(ctx, x, x2), 0.0, 0.04);
  fs::ParticleSet<double> dup(ctx, 10, 1);
  for (std::size_t i = 0; i < 10; ++i) dup.at(i, 0) = double(i / 2);  // pairs of duplicates
  EXPECT_THROW(fm::knn_entropy(ctx, dup, 1), fs::Error);
  EXPECT_THROW(fm::knn_entropy(ctx, x, 0), fs::Error);
  EXPECT_THROW(fm::knn_entropy(ctx, fs::ParticleSet<double>(ctx, 3, 1), 5), fs::Error);
}

namespace {

// The message of the Error f throws, or "" when it does not throw.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const fs::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// Degenerate clouds: duplicates fewer than k (every distance positive, the
// estimate silently biased: 0.20 nats for a cloud against itself before this
// check) and clouds without a density (a line in the plane: entropy -inf,
// estimated -2.0 before).
TEST(Knn, DegenerateCloudsAreRefusedWithTheirCause) {
  fs::Context ctx = fs::Context::create(fs::Backend::cpu, 9, 2);
  const std::size_t n = 2000;
  fs::ParticleSet<double> x(ctx, n, 2), twice(ctx, n, 2), few(ctx, n, 2), line(ctx, n, 2);
  fs::fill_normal(ctx, x);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < 2; ++j) {
      twice.at(i, j) = x.at(i / 2, j);                // every point twice
      few.at(i, j) = x.at(i < 10 ? 0 : i, j);         // 10 copies of one point: 0.5%, tolerated
      line.at(i, j) = j == 0 ? x.at(i, 0) : 2 * x.at(i, 0) + 1;  // on the line y = 2x + 1
    }
  const std::string dup = error_of([&] { fm::knn_entropy(ctx, twice); });
  EXPECT_NE(dup.find("2000 of the 2000 points (100%) have a duplicate"), std::string::npos) << dup;
  EXPECT_NE(error_of([&] { fm::knn_kl_divergence(ctx, twice, x); }).find("have a duplicate"), std::string::npos);
  // 10 copies with k = 5: its k-th distance is 0, named as before; with k = 12 (more than 9 copies) a 0.5% share passes.
  EXPECT_NE(error_of([&] { fm::knn_entropy(ctx, few); }).find("neighbours at distance 0"), std::string::npos);
  EXPECT_TRUE(std::isfinite(fm::knn_entropy(ctx, few, 12)));
  const std::string flat = error_of([&] { fm::knn_entropy(ctx, line); });
  EXPECT_NE(flat.find("span 1 of their 2 dimensions"), std::string::npos) << flat;
  EXPECT_NE(error_of([&] { fm::knn_kl_divergence(ctx, x, line); }).find("points of y span 1"), std::string::npos);
  fs::ParticleSet<float> line_f(ctx, n, 2);  // in float, rounding off the line is not a dimension either
  for (std::size_t i = 0; i < n; ++i) line_f.at(i, 0) = float(x.at(i, 0)), line_f.at(i, 1) = float(x.at(i, 0) / 3);
  EXPECT_NE(error_of([&] { fm::knn_entropy(ctx, line_f); }).find("span 1 of their 2"), std::string::npos);
  // Far from the origin, rounding thickens the line with the coordinates' size, not the line's length.
  for (std::size_t i = 0; i < n; ++i) line_f.at(i, 0) = float(100 + x.at(i, 0)), line_f.at(i, 1) = float(100 + x.at(i, 0) / 3);
  EXPECT_NE(error_of([&] { fm::knn_entropy(ctx, line_f); }).find("span 1 of their 2"), std::string::npos);
  // A genuinely thin but two-dimensional cloud there passes.
  for (std::size_t i = 0; i < n; ++i) line_f.at(i, 1) = float(100 + x.at(i, 0) / 3 + 1e-2 * x.at(i, 1));
  EXPECT_TRUE(std::isfinite(fm::knn_entropy(ctx, line_f)));
}
