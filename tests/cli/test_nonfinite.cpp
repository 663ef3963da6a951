// Finite or refused (issue 19): a computation that produces NaN or Inf fails
// with exit 2 and a message naming the stage and its likely cause, and writes
// nothing; messages name the real cause of bad time grids and tolerances.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/hostile_files.hpp"
#include "cli/run_cli.hpp"
#include "flowsampler/io/npy.hpp"

namespace {

using flowsampler::test::run_cli_stderr;
namespace t = flowsampler::test;

// Exit 2, `what` in the message, and no output file.
void expect_refused(const std::string& args, const std::string& out, const std::string& what) {
  const auto [rc, err] = run_cli_stderr(args + " --out " + out);
  EXPECT_EQ(rc, 2) << args << "\n" << err;
  EXPECT_NE(err.find(what), std::string::npos) << args << "\n" << err;
  EXPECT_FALSE(std::filesystem::exists(out)) << args;
}

}  // namespace

TEST(CliNonFinite, NonFiniteResultsAreRefusedWithTheStageNamed) {
  const std::string dir = t::scratch_dir(), x = t::cloud(dir), o = dir + "/o.npy";
  expect_refused("drift --field mean-shift --x " + x + " --data " + x + " --eps 1e-300 --steps 3", o, "drift (mean-shift");
  expect_refused("drift --field mmd --x " + x + " --data " + x + " --dt 1e300 --steps 3", o, "likely cause");
  const std::string g = t::gaussian_spec(dir);
  expect_refused("sample --target " + g + " --n 100 --steps 5 --noise-cov 1e300", o, "sample (rk4");
  expect_refused("sample --target " + t::gaussian_spec(dir, "[1e40, 0]") + " --n 100 --steps 5", o, "--precision double");
}

// Finite but wrong: the flow must amplify noise of variance 1e-300 by 1e150;
// every particle landed on one point (float) or within 1e-149 of it (double).
TEST(CliNonFinite, CollapsedCloudsAreRefused) {
  const std::string dir = t::scratch_dir(), g = t::gaussian_spec(dir), o = dir + "/o.npy";
  for (const std::string prec : {"float", "double"})
    expect_refused("sample --target " + g + " --n 100 --steps 5 --noise-cov 1e-300 --precision " + prec, o, "collapsed");
}

// Finite but wrong: rk4 with 50 steps on the vp path to a target of variance
// 1e-4 ended at variance ~800; dopri5 gets it right.
TEST(CliNonFinite, BlownUpCloudsAreRefused) {
  const std::string dir = t::scratch_dir(), g = t::gaussian_spec(dir, "[0, 0]", "1e-4"), o = dir + "/o.npy";
  expect_refused("sample --target " + g + " --path vp --n 200", o, "dopri5");
  EXPECT_EQ(run_cli_stderr("sample --target " + g + " --path vp --n 200 --integrator dopri5 --out " + o).first, 0);
}

TEST(CliNonFinite, LogLikelihoodOfANearDiracTargetIsRefused) {
  const std::string dir = t::scratch_dir(), o = dir + "/o.npy";
  const auto [rc, err] = run_cli_stderr("sample --target " + t::gaussian_spec(dir, "[0, 0]", "1e-30") +
                                        " --n 100 --steps 5 --out " + o + " --log-likelihood " + dir + "/ll.npy");
  EXPECT_EQ(rc, 2) << err;
  EXPECT_FALSE(std::filesystem::exists(o));
  EXPECT_FALSE(std::filesystem::exists(dir + "/ll.npy"));
}

TEST(CliNonFinite, MessagesNameTheRealCause) {
  const std::string dir = t::scratch_dir(), g = t::gaussian_spec(dir);
  const auto [rc, err] = run_cli_stderr("sample --target " + g + " --n 10 --times 1,0.5,0 --out " + dir + "/o.npy");
  EXPECT_EQ(rc, 2);
  EXPECT_NE(err.find("--times"), std::string::npos) << err;
  EXPECT_EQ(err.find("variance"), std::string::npos) << err;
  // Was "path 'linear': t = -nan is outside [0, 1]".
  const auto [rc2, err2] =
      run_cli_stderr("sample --target " + g + " --n 10 --integrator dopri5 --rtol 1e-300 --atol 1e-300 --out " + dir + "/o.npy");
  EXPECT_EQ(rc2, 2);
  EXPECT_NE(err2.find("rtol = 1e-300"), std::string::npos) << err2;
  EXPECT_EQ(err2.find("outside"), std::string::npos) << err2;
}

// Weights [1e308, 1e308] summed to inf and normalized to zeros: the samples
// were plain noise. Normalized in scale, they are the mixture's.
TEST(CliNonFinite, HugeWeightsAreNormalized) {
  const std::string dir = t::scratch_dir(), o = dir + "/o.npy";
  t::write_text(dir + "/w.json", R"({"type": "gaussian_mixture", "dim": 2, "weights": [1e308, 1e308],
                                     "means": [[-5, 0], [5, 0]], "covariances": [0.25, 0.25]})");
  ASSERT_EQ(run_cli_stderr("sample --target " + dir + "/w.json --n 200 --steps 20 --precision double --out " + o).first, 0);
  const auto m = flowsampler::io::load_npy(o);
  double spread = 0;
  for (std::size_t i = 0; i < m.n; ++i) spread += std::fabs(m.value(i, 0)) / double(m.n);
  EXPECT_NEAR(spread, 5.0, 0.5);
}

// kNN KL against 50 identical points returned a finite 0.93.
TEST(CliNonFinite, KlAgainstCoincidentPointsIsRefused) {
  const std::string dir = t::scratch_dir(), x = t::cloud(dir);
  const std::vector<double> same(2 * 50, 0.5);
  flowsampler::io::write_npy(dir + "/same.npy", same.data(), 50, 2);
  const auto [rc, err] = run_cli_stderr("metrics --x " + x + " --y " + dir + "/same.npy --kl");
  EXPECT_EQ(rc, 2) << err;
  EXPECT_NE(err.find("coincide"), std::string::npos) << err;
  EXPECT_EQ(run_cli_stderr("metrics --x " + x + " --y " + x + " --kl").first, 0);
}
