// `flowsampler jko` and `jko-sample` end to end: the JKO flow carries a
// two-cluster cloud towards N(0, I) with first-order residuals below their
// tolerance, the saved model inverts its training points and generates
// samples closer to the data than the noise is; bad input exits 2.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "cli/run_cli.hpp"
#include "flowsampler/io/npy.hpp"

namespace fs = flowsampler;

namespace {
const auto run = flowsampler::test::run_cli;

// Energy distance from `flowsampler metrics` (an independent reduction).
double energy(const std::string& x, const std::string& y) {
  const auto [rc, out] = flowsampler::test::run_cli_output("metrics --x " + x + " --y " + y);
  EXPECT_EQ(rc, 0);
  return nlohmann::json::parse(out)["metrics"]["energy_distance"].get<double>();
}
}  // namespace

TEST(CliJko, FlowsToNormalAndGeneratesFromTheModel) {
  const std::string dir = ::testing::TempDir();
  std::mt19937 rng(3);
  std::normal_distribution<double> n01;
  std::vector<double> x(2 * 400), noise(2 * 400);
  for (std::size_t i = 0; i < 400; ++i) x[2 * i] = (i % 2 ? 2 : -2) + 0.3 * n01(rng), x[2 * i + 1] = 0.3 * n01(rng);
  for (auto& v : noise) v = n01(rng);
  fs::io::write_npy(dir + "/jx.npy", x.data(), 400, 2);
  fs::io::write_npy(dir + "/jn.npy", noise.data(), 400, 2);
  ASSERT_EQ(run("jko --data " + dir + "/jx.npy --to-normal --h 0.3 --steps 8 --model " + dir + "/jmodel --out " + dir +
                "/jk.npy --report " + dir + "/jr.json"),
            0);
  std::ifstream f(dir + "/jr.json");
  const auto j = nlohmann::json::parse(f);
  const auto& rec = j["records"];
  ASSERT_EQ(rec.size(), 9u);
  for (std::size_t k = 1; k < rec.size(); ++k) EXPECT_LE(rec[k]["solver_eps"].get<double>(), rec[k]["tol"].get<double>()) << k;
  EXPECT_LT(rec[8]["w2_bures"].get<double>(), 0.5 * rec[1]["w2_bures"].get<double>());
  EXPECT_LT(j["inversion_error"]["relative"].get<double>(), 1e-6);
  ASSERT_EQ(run("jko-sample --model " + dir + "/jmodel --n 400 --seed 5 --out " + dir + "/js.npy"), 0);
  EXPECT_LT(energy(dir + "/js.npy", dir + "/jx.npy"), 0.2 * energy(dir + "/jn.npy", dir + "/jx.npy"));

  EXPECT_EQ(run("jko --data " + dir + "/jx.npy --to-normal --h 0 --out " + dir + "/jz.npy"), 2);
  EXPECT_EQ(run("jko --data " + dir + "/jx.npy --h 0.1 --out " + dir + "/jz.npy"), 2);  // no target
  EXPECT_EQ(run("jko --data " + dir + "/jx.npy --to-normal --estimator knn --out " + dir + "/jz.npy"), 2);
  EXPECT_EQ(run("jko-sample --model " + dir + "/no-such-model --n 10 --out " + dir + "/jz.npy"), 2);
}

TEST(CliJko, ProgressGoesToStderrOnRequest) {
  const std::string dir = ::testing::TempDir();
  std::vector<double> x(2 * 50);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(double(i));
  fs::io::write_npy(dir + "/jp.npy", x.data(), 50, 2);
  const std::string err = dir + "/jko-progress.txt";
  const std::string cmd = std::string(FLOWSAMPLER_CLI) + " jko --data " + dir + "/jp.npy --to-normal --h 0.2 --steps 3 --progress --out " +
                          dir + "/jq.npy 2> " + err;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream f(err);
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("step 3/3"), std::string::npos) << text;
}

// One step on the device emulator: the same record as on the CPU, and the
// report's device object. The step's own transfers are scalars (the data's
// upload and the result's download aside; the diagnostics' pi draws move
// once): the whole run moves less than a few clouds' worth.
TEST(CliJko, OneStepOnTheEmulatorMatchesTheCpu) {
  const std::string dir = ::testing::TempDir();
  std::mt19937 rng(4);
  std::normal_distribution<double> n01;
  const std::size_t n = 300;
  std::vector<double> x(2 * n);
  for (std::size_t i = 0; i < n; ++i) x[2 * i] = (i % 2 ? 1.5 : -1.5) + 0.4 * n01(rng), x[2 * i + 1] = 0.4 * n01(rng);
  fs::io::write_npy(dir + "/jdx.npy", x.data(), n, 2);
  auto report = [&](const std::string& backend) {
    const std::string r = dir + "/jd_" + backend + ".json";
    EXPECT_EQ(run("jko --backend " + backend + " --data " + dir + "/jdx.npy --to-normal --h 0.3 --steps 1 --diagnostic-points 100 --out " +
                  dir + "/jd_" + backend + ".npy --report " + r),
              0);
    std::ifstream f(r);
    return nlohmann::json::parse(f);
  };
  const auto e = report("emulator"), c = report("cpu");
  EXPECT_EQ(e["backend"], "emulator");
  EXPECT_TRUE(c["device"].is_null());
  const auto& dev = e["device"];
  ASSERT_TRUE(dev.is_object());
  EXPECT_EQ(dev["backend"], "emulator");
  EXPECT_GT(dev["downloads"].get<int>(), 0);
  EXPECT_GT(dev["launches"].get<int>(), 0);
  EXPECT_GE(dev["synchronizations"].get<int>(), dev["downloads"].get<int>());
  ASSERT_EQ(e["records"].size(), 2u);
  const auto &re = e["records"][1], &rc = c["records"][1];
  EXPECT_EQ(re["inner"], rc["inner"]);
  EXPECT_TRUE(rc["converged"].get<bool>());
  EXPECT_NEAR(re["solver_eps"].get<double>(), rc["solver_eps"].get<double>(), 1e-6 * rc["tol"].get<double>());
  EXPECT_NEAR(re["w2_bures"].get<double>(), rc["w2_bures"].get<double>(), 1e-10);
  EXPECT_NEAR(re["mmd2"].get<double>(), rc["mmd2"].get<double>(), 1e-10);
  EXPECT_NEAR(re["lipschitz_forward"].get<double>(), rc["lipschitz_forward"].get<double>(), 1e-6);
}
