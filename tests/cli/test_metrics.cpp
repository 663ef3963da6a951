// `flowsampler metrics` end to end: a translated cloud has known distances.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "cli/run_cli.hpp"
#include "flowsampler/io/npy.hpp"

namespace fs = flowsampler;

namespace {
const auto run = flowsampler::test::run_cli_output;
}  // namespace

TEST(CliMetrics, TranslatedCloud) {
  const std::string dir = ::testing::TempDir();
  const std::size_t n = 300;
  std::mt19937 rng(1);
  std::normal_distribution<double> n01;
  std::vector<double> x(2 * n), y(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    x[2 * i] = n01(rng), x[2 * i + 1] = 0.5 * n01(rng);
    y[2 * i] = x[2 * i] + 3, y[2 * i + 1] = x[2 * i + 1] - 4;  // row-major, shifted by (3, -4)
  }
  fs::io::write_npy(dir + "/mx.npy", x.data(), n, 2);
  fs::io::write_npy(dir + "/my.npy", y.data(), n, 2);
  const auto [rc, text] = run("metrics --x " + dir + "/mx.npy --y " + dir +
                              "/my.npy --map-distance --bures --exact-w2 --sliced-w2 400 --energy --sinkhorn 0.5");
  ASSERT_EQ(rc, 0) << text;
  const auto j = nlohmann::json::parse(text);
  const auto& m = j["metrics"];
  EXPECT_NEAR(m["map_distance_l2"].get<double>(), 5.0, 1e-12);
  EXPECT_NEAR(m["bures_w2_squared"].get<double>(), 25.0, 1e-9);  // equal covariances: the mean shift
  EXPECT_NEAR(m["exact_w2_squared"].get<double>(), 25.0, 1e-9);  // a translation is its own optimal map
  // Each direction's 1-D W2^2 is (theta . s)^2 exactly; over the circle its mean is |s|^2 / 2.
  EXPECT_NEAR(m["sliced_w2_squared"].get<double>(), 12.5, 4 * m["sliced_w2_std_error"].get<double>());
  EXPECT_GT(m["energy_distance"].get<double>(), 0.0);
  // Debiased Sinkhorn of a translation: between W2^2 - eps terms and W2^2.
  EXPECT_NEAR(m["sinkhorn"]["divergence"].get<double>(), 25.0, 0.5);
  EXPECT_EQ(j["n"].get<int>(), 300);
}

TEST(CliMetrics, AgainstATargetAndBadInput) {
  const std::string dir = ::testing::TempDir();
  const std::string t = FLOWSAMPLER_EXAMPLES "/targets/two_blobs.json";
  ASSERT_EQ(run("sample --target " + t + " --n 4000 --steps 20 --precision double --out " + dir + "/s.npy").first, 0);
  const auto [rc, text] = run("metrics --x " + dir + "/s.npy --target " + t + " --bures --kl --mmd gaussian:1");
  ASSERT_EQ(rc, 0) << text;
  const auto j = nlohmann::json::parse(text);
  EXPECT_LT(j["metrics"]["bures_w2_squared"].get<double>(), 0.02);
  EXPECT_LT(std::fabs(j["metrics"]["kl"].get<double>()), 0.1);
  EXPECT_EQ(run("metrics --x " + dir + "/s.npy --sinkhorn 0.5").first, 2);  // a two-cloud metric, neither --y nor --target
  EXPECT_EQ(run("metrics --x " + dir + "/s.npy --y " + dir + "/s.npy --target " + t).first, 2);
  EXPECT_EQ(run("metrics --x " + dir + "/s.npy --y " + dir + "/s.npy --sinkhorn 0").first, 2);
  EXPECT_EQ(run("metrics --x " + dir + "/s.npy --y " + dir + "/s.npy --mmd gaussian").first, 2);
  EXPECT_EQ(run("metrics --x " + dir + "/s.npy --target " + t + " --map-distance").first, 2);
  const std::vector<double> three = {0, 1, 2, 3, 4, 5};
  fs::io::write_npy(dir + "/three.npy", three.data(), 2, 3);
  EXPECT_EQ(run("metrics --x " + dir + "/s.npy --y " + dir + "/three.npy").first, 2);
  const std::vector<double> with_nan = {0, 1, NAN, 3};
  fs::io::write_npy(dir + "/nan.npy", with_nan.data(), 2, 2);
  EXPECT_EQ(run("metrics --x " + dir + "/nan.npy --y " + dir + "/s.npy").first, 2);
}

// --x alone: the cloud's mean and unbiased covariance (here of four points,
// by hand) and its kNN entropy; --moments beside a second cloud.
TEST(CliMetrics, OneCloudMomentsAndEntropy) {
  const std::string dir = ::testing::TempDir();
  const std::vector<double> four = {0, 0, 2, 0, 0, 4, 2, 4};  // rows (0,0), (2,0), (0,4), (2,4)
  fs::io::write_npy(dir + "/four.npy", four.data(), 4, 2);
  const auto [rc, text] = run("metrics --x " + dir + "/four.npy");
  ASSERT_EQ(rc, 0) << text;
  const auto m = nlohmann::json::parse(text)["metrics"];
  EXPECT_NEAR(m["mean"][0].get<double>(), 1.0, 1e-15);
  EXPECT_NEAR(m["mean"][1].get<double>(), 2.0, 1e-15);
  // sum of squared deviations / (n - 1): 4/3 and 16/3, uncorrelated.
  EXPECT_NEAR(m["covariance"][0][0].get<double>(), 4.0 / 3.0, 1e-14);
  EXPECT_NEAR(m["covariance"][1][1].get<double>(), 16.0 / 3.0, 1e-14);
  EXPECT_NEAR(m["covariance"][0][1].get<double>(), 0.0, 1e-14);
  EXPECT_FALSE(m.contains("knn_entropy"));
  // Entropy of N(0, I_2) is log(2 pi e) = 2.8379; the kNN estimate at n = 4000 within 0.1.
  std::mt19937 rng(5);
  std::normal_distribution<double> n01;
  std::vector<double> g(2 * 4000);
  for (double& v : g) v = n01(rng);
  fs::io::write_npy(dir + "/g.npy", g.data(), 4000, 2);
  const auto [rc2, text2] = run("metrics --x " + dir + "/g.npy --entropy");
  ASSERT_EQ(rc2, 0) << text2;
  const auto m2 = nlohmann::json::parse(text2)["metrics"];
  EXPECT_NEAR(m2["knn_entropy"].get<double>(), std::log(2 * M_PI * std::exp(1.0)), 0.1);
  EXPECT_FALSE(m2.contains("mean"));
  const auto [rc3, text3] = run("metrics --x " + dir + "/four.npy --y " + dir + "/four.npy --moments --energy");
  ASSERT_EQ(rc3, 0) << text3;
  const auto m3 = nlohmann::json::parse(text3)["metrics"];
  EXPECT_NEAR(m3["mean"][1].get<double>(), 2.0, 1e-15);
  EXPECT_NEAR(m3["energy_distance"].get<double>(), 0.0, 1e-12);
}

// The same metrics on the device emulator: the values of the CPU run, and the
// report's device object shows that only the inputs' uploads moved clouds.
TEST(CliMetrics, EmulatorKeepsTheCloudsOnTheDevice) {
  const std::string dir = ::testing::TempDir();
  const std::size_t n = 600, m = 500, d = 2;
  std::mt19937 rng(7);
  std::normal_distribution<double> n01;
  std::vector<double> x(n * d), y(m * d);
  for (double& v : x) v = n01(rng);
  for (double& v : y) v = 0.5 + 0.8 * n01(rng);
  fs::io::write_npy(dir + "/ex.npy", x.data(), n, d);
  fs::io::write_npy(dir + "/ey.npy", y.data(), m, d);
  const std::string args = "metrics --x " + dir + "/ex.npy --y " + dir + "/ey.npy --sliced-w2 64 --sinkhorn 0.1 --mmd gaussian:1";
  const auto [rc_cpu, cpu_text] = run(args + " --backend cpu");
  const auto [rc_dev, dev_text] = run(args + " --backend emulator");
  ASSERT_EQ(rc_cpu, 0) << cpu_text;
  ASSERT_EQ(rc_dev, 0) << dev_text;
  const auto c = nlohmann::json::parse(cpu_text), e = nlohmann::json::parse(dev_text);
  const std::uint64_t clouds = (n + m) * d * sizeof(double);
  const auto& dev = e["device"];
  EXPECT_LE(dev["transfer_bytes"].get<std::uint64_t>(), 2 * clouds + 4096) << dev.dump();
  EXPECT_LE(dev["upload_bytes"].get<std::uint64_t>(), clouds + 2048) << dev.dump();  // + the directions and a centre
  EXPECT_LE(dev["download_bytes"].get<std::uint64_t>(), 4096) << dev.dump();         // scalars only
  auto near = [](const nlohmann::json& a, const nlohmann::json& b) {
    EXPECT_NEAR(a.get<double>(), b.get<double>(), 1e-9 * std::max(1.0, std::fabs(b.get<double>())));
  };
  const auto &mc = c["metrics"], &me = e["metrics"];
  near(me["sliced_w2_squared"], mc["sliced_w2_squared"]);
  near(me["sliced_w2_std_error"], mc["sliced_w2_std_error"]);
  near(me["mmd2 gaussian:1 biased"], mc["mmd2 gaussian:1 biased"]);
  for (const char* k : {"ot_eps", "transport_cost", "divergence"}) near(me["sinkhorn"][k], mc["sinkhorn"][k]);
  EXPECT_FALSE(c.contains("device"));
}
