// `sample` predicts the spread error of an explicit fixed-step run before it
// starts (integrate/stability.hpp) and warns with a step count that fixes it.
// Checked end to end against the samples themselves: a narrow Gaussian
// (standard deviation 0.1, the case where the prediction is exact; for
// mixtures it holds while the components stay apart, stability.hpp).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/hostile_files.hpp"
#include "cli/run_cli.hpp"
#include "flowsampler/io/npy.hpp"

namespace {

using flowsampler::test::run_cli_stderr;

// The samples' standard deviation about the target's mean 0.5.
double spread_about_mean(const std::string& file) {
  const auto m = flowsampler::io::load_npy(file);
  double sq = 0;
  for (std::size_t i = 0; i < m.n; ++i) sq += (m.value(i, 0) - 0.5) * (m.value(i, 0) - 0.5);
  return std::sqrt(sq / double(m.n));
}

nlohmann::json read_json(const std::string& file) {
  std::ifstream in(file);
  return nlohmann::json::parse(in);
}

}  // namespace

TEST(CliSpreadWarning, PredictsTheWithinComponentSpreadAndItsCure) {
  const std::string dir = ::testing::TempDir();
  const std::string spec = dir + "/narrow_pair.json", out = dir + "/narrow_out.npy", report = dir + "/narrow_report.json";
  flowsampler::test::write_text(spec, R"({"type": "gaussian_mixture", "dim": 1, "weights": [1],
                                          "means": [[0.5]], "covariances": [0.01]})");
  const std::string base = "sample --target " + spec + " --path vp --integrator rk4 --n 40000 --seed 3 --precision double "
                           "--quality-subsample 0 --out " + out + " --report " + report;
  const auto [rc, err] = run_cli_stderr(base + " --steps 50");
  ASSERT_EQ(rc, 0) << err;
  const nlohmann::json check = read_json(report)["spread_check"];
  const double predicted = check["predicted_spread_error"].get<double>();
  const int suggested = check["suggested_steps"].get<int>();
  EXPECT_NE(err.find("warning: with 50 rk4 steps the spread"), std::string::npos) << err;
  EXPECT_NE(err.find("--steps " + std::to_string(suggested) + " brings it below 1%"), std::string::npos) << err;
  EXPECT_GT(predicted, 0.05);
  // The samples: off by what was predicted (Monte Carlo error of the std ~0.4%).
  EXPECT_NEAR(std::fabs(spread_about_mean(out) / 0.1 - 1), predicted, 0.02);

  // The suggested steps: no warning, and the spread within 1% (plus that error).
  const auto [rc2, err2] = run_cli_stderr(base + " --steps " + std::to_string(suggested));
  ASSERT_EQ(rc2, 0) << err2;
  EXPECT_EQ(err2.find("warning: with"), std::string::npos) << err2;
  EXPECT_LE(read_json(report)["spread_check"]["predicted_spread_error"].get<double>(), 0.01);
  EXPECT_NEAR(spread_about_mean(out) / 0.1, 1.0, 0.02);
}
