// The predicted spread error of the explicit methods (integrate/stability.hpp)
// against what the cloud integrator does: for a Gaussian target the flow is
// affine, so the offset between two particles along an eigen-direction after
// the run, over the exact factor sigma(t1) / sigma(t0), is the error the check
// predicts from the path alone. The integrator runs the GMM field (softmax,
// whitening, epilogue); the check, a scalar recursion: independent code.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "flowsampler/integrate/gmm_flow.hpp"
#include "flowsampler/fields/gmm_field.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/integrate/stability.hpp"

namespace fs = flowsampler;
namespace fi = flowsampler::integrate;

namespace {

struct Measured {
  std::vector<double> error;  // per axis: |numerical / exact offset factor| - 1
};

// A diagonal Gaussian (variances s) integrated along `path` on `grid`: two
// particles, the centre and the centre + 1 on every axis.
Measured integrate_offsets(const std::vector<double>& s, const std::vector<double>& mean, const fs::paths::Path& path,
                           const std::vector<double>& grid, fi::Method method) {
  const std::size_t d = s.size();
  fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 1);
  fs::targets::GaussianMixture g{d};
  std::vector<double> cov(d * d, 0.0);
  for (std::size_t j = 0; j < d; ++j) cov[j * d + j] = s[j];
  g.add(1.0, mean, cov);
  const fs::paths::PathPoint p0 = path.at(grid.front()), p1 = path.at(grid.back());
  std::vector<double> cols(2 * d);
  for (std::size_t j = 0; j < d; ++j) cols[j * 2] = p0.a * mean[j], cols[j * 2 + 1] = p0.a * mean[j] + 1.0;
  auto z = fs::ParticleSet<double>::from_column_major(ctx, cols.data(), 2, d);
  fi::integrate(ctx, fs::fields::GmmField(g), path, z, grid, method);
  Measured m;
  for (std::size_t j = 0; j < d; ++j) {
    const double exact = std::sqrt(p1.a * p1.a * s[j] + p1.b * p1.b) / std::sqrt(p0.a * p0.a * s[j] + p0.b * p0.b);
    m.error.push_back(std::fabs((z.at(1, j) - z.at(0, j)) / exact) - 1);  // the spread: sign-blind
  }
  return m;
}

fs::targets::GaussianMixture diagonal(const std::vector<double>& s, const std::vector<double>& mean) {
  fs::targets::GaussianMixture g{s.size()};
  std::vector<double> cov(s.size() * s.size(), 0.0);
  for (std::size_t j = 0; j < s.size(); ++j) cov[j * s.size() + j] = s[j];
  g.add(1.0, mean, cov);
  return g;
}

}  // namespace

TEST(SpreadCheck, PredictsTheIntegratorsSpreadError) {
  const std::vector<double> s{0.09, 0.7}, mean{1.5, -0.5};
  const fs::targets::GaussianMixture g = diagonal(s, mean);
  struct Case {
    const char* path;
    int steps;
  };
  for (const Case c : {Case{"vp", 40}, Case{"linear", 12}, Case{"cosine", 25}})
    for (auto method : {fi::Method::euler, fi::Method::heun, fi::Method::midpoint, fi::Method::rk4}) {
      const fs::paths::Path path = fs::paths::make_path(c.path);
      const auto grid = fi::uniform_grid(0.0, 1.0, c.steps);
      const Measured m = integrate_offsets(s, mean, path, grid, method);
      const fi::SpreadCheck check = fi::check_spread(g, path, grid, method);
      const std::size_t worst = std::fabs(m.error[0]) > std::fabs(m.error[1]) ? 0 : 1;
      const std::string what = std::string(c.path) + " " + fi::to_string(method);
      EXPECT_NEAR(check.spread_error, std::fabs(m.error[worst]), 1e-9 + 1e-7 * std::fabs(m.error[worst])) << what;
      EXPECT_NEAR(check.variance, s[worst], 1e-12) << what;  // after the whitening's eigen-decomposition
      EXPECT_GT(check.spread_error, 1e-9) << what;  // a real error, not a trivial zero
      EXPECT_EQ(check.unstable_steps, 0) << what;
    }
}

TEST(SpreadCheck, ConvergesAtTheMethodsOrder) {
  const std::vector<double> s{0.09};
  const fs::targets::GaussianMixture g = diagonal(s, {0.0});
  const fs::paths::Path vp = fs::paths::make_path("vp");
  for (auto [method, order] : {std::pair{fi::Method::euler, 1}, std::pair{fi::Method::heun, 2}, std::pair{fi::Method::rk4, 4}}) {
    const double e1 = fi::check_spread(g, vp, fi::uniform_grid(0.0, 1.0, 400), method).spread_error;
    const double e2 = fi::check_spread(g, vp, fi::uniform_grid(0.0, 1.0, 800), method).spread_error;
    EXPECT_NEAR(std::log2(e1 / e2), order, 0.15) << fi::to_string(method);
  }
}

// Variances of 1e-4 on the vp path with 50 rk4 steps: the last step has
// h lambda ~ -1000, far outside rk4's interval; the integrator blows the
// offset up by the factor the check predicts.
TEST(SpreadCheck, NamesTheUnstableStepsBeforeTheBlowUp) {
  const std::vector<double> s{1e-4};
  const fs::targets::GaussianMixture g = diagonal(s, {0.5});
  const fs::paths::Path vp = fs::paths::make_path("vp");
  const auto grid = fi::uniform_grid(0.0, 1.0, 50);
  const fi::SpreadCheck check = fi::check_spread(g, vp, grid, fi::Method::rk4);
  EXPECT_GE(check.unstable_steps, 1);
  EXPECT_LT(check.worst_step_rate, -fi::stability_bound(fi::Method::rk4));
  EXPECT_NEAR(check.worst_t, 0.98, 1e-12);
  const Measured m = integrate_offsets(s, {0.5}, vp, grid, fi::Method::rk4);
  EXPECT_GT(std::fabs(m.error[0]), 100.0);
  EXPECT_NEAR(check.spread_error, std::fabs(m.error[0]), 1e-7 * std::fabs(m.error[0]));
  // The bound is where |R(z)| = 1: R(-bound) = -1 within rounding.
  const double z = -fi::stability_bound(fi::Method::rk4);
  EXPECT_NEAR(1 + z + z * z / 2 + z * z * z / 6 + z * z * z * z / 24, 1.0, 1e-12);
}

TEST(SpreadCheck, RefusesExponentialStepsAndBadGrids) {
  const fs::targets::GaussianMixture g = diagonal({1.0}, {0.0});
  const fs::paths::Path vp = fs::paths::make_path("vp");
  EXPECT_THROW(fi::check_spread(g, vp, fi::uniform_grid(0.0, 1.0, 10), fi::Method::ddim), fs::Error);
  EXPECT_THROW(fi::check_spread(g, vp, {0.0, 0.5, 0.5, 1.0}, fi::Method::rk4), fs::Error);
  EXPECT_EQ(fi::stability_bound(fi::Method::dpmpp2m), 0.0);
}
