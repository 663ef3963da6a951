// `flowsampler monge` and `monge-apply` end to end: a map learned between two
// Gaussians moves the source towards the target and is written to a map
// directory that monge-apply reads; bad input exits 2.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "cli/run_cli.hpp"
#include "flowsampler/io/npy.hpp"

namespace fs = flowsampler;

namespace {
const auto run = flowsampler::test::run_cli;

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }
}  // namespace

TEST(CliMonge, LearnsAMapThatMongeApplyReads) {
  const std::string dir = ::testing::TempDir() + "/cli_monge";
  std::filesystem::create_directories(dir);
  write_text(dir + "/src.json",
             R"({"type": "gaussian_mixture", "dim": 2, "weights": [1], "means": [[2, -1]], "covariances": [[[0.5, 0.1], [0.1, 0.3]]]})");
  write_text(dir + "/tgt.json", R"({"type": "gaussian_mixture", "dim": 2, "weights": [1], "means": [[0, 0]], "covariances": [1.0]})");
  std::mt19937 rng(3);
  std::normal_distribution<double> n01;
  std::vector<double> x(2 * 40);
  for (auto& v : x) v = n01(rng);
  fs::io::write_npy(dir + "/x.npy", x.data(), 40, 2);
  const std::string map = dir + "/map";
  ASSERT_EQ(run("monge --source " + dir + "/src.json --target " + dir + "/tgt.json --potential icnn --widths 8,8 --method implicit "
                "--tau 0.5 --steps 4 --inner 20 --lr 0.05 --batch 100 --eval-points 500 --seed 1 --out " + map + " --report " +
                dir + "/r.json"),
            0);
  std::ifstream f(dir + "/r.json");
  const auto j = nlohmann::json::parse(f);
  EXPECT_EQ(j["method"], "implicit");
  EXPECT_EQ(j["dim"], 2);
  EXPECT_EQ(j["n"], 100);
  EXPECT_EQ(j["steps"], 4);
  EXPECT_EQ(j["estimator"], "blob");  // KL's default score estimate
  EXPECT_GT(j["wall_seconds"].get<double>(), 0.0);
  ASSERT_EQ(j["records"].size(), 4u);
  // The source starts ~2.2 away from the target; four implicit steps of total time 2 must close much of it.
  const double start = j["energy_distance_identity"].get<double>(), last = j["records"][3]["energy_distance"].get<double>();
  EXPECT_LT(last, 0.3 * start) << start << " -> " << last;
  EXPECT_TRUE(std::filesystem::exists(map + "/manifest.json"));
  EXPECT_TRUE(std::filesystem::exists(map + "/params.npy"));

  ASSERT_EQ(run("monge-apply --map " + map + " --x " + dir + "/x.npy --out " + dir + "/y.npy"), 0);
  const auto y = fs::io::load_npy(dir + "/y.npy");
  EXPECT_EQ(y.n, 40u);
  EXPECT_EQ(y.d, 2u);

  // lse potential, explicit scheme, MMD to target draws: runs and writes a map.
  EXPECT_EQ(run("monge --source " + dir + "/src.json --target " + dir + "/tgt.json --potential lse --pieces 16 --method explicit "
                "--functional mmd --target-samples 300 --steps 2 --inner 5 --eval-points 0 --out " + dir + "/map2"),
            0);
  EXPECT_EQ(run("monge-apply --map " + dir + "/map2 --x " + dir + "/x.npy --out " + dir + "/y2.npy"), 0);
}

TEST(CliMonge, BadInputExits2) {
  const std::string dir = ::testing::TempDir() + "/cli_monge_bad";
  std::filesystem::create_directories(dir);
  write_text(dir + "/g.json", R"({"type": "gaussian_mixture", "dim": 2, "weights": [1], "means": [[0, 0]], "covariances": [1.0]})");
  std::vector<double> x3(3 * 5, 0.5);
  fs::io::write_npy(dir + "/x3.npy", x3.data(), 5, 3);
  const std::string base = "monge --source " + dir + "/g.json --target " + dir + "/g.json --steps 1 --inner 1 --out " + dir + "/m";
  EXPECT_EQ(run(base + " --tau 0"), 2);
  EXPECT_EQ(run(base + " --tau -0.5"), 2);
  EXPECT_EQ(run(base + " --method newton"), 2);
  EXPECT_EQ(run(base + " --potential mlp"), 2);
  EXPECT_EQ(run(base + " --functional wasserstein"), 2);
  EXPECT_EQ(run(base + " --batch 1"), 2);
  EXPECT_EQ(run(base + " --estimator svgd"), 2);
  EXPECT_EQ(run(base + " --bandwidth -1"), 2);
  EXPECT_EQ(run(base + " --bandwidth nan"), 2);
  EXPECT_EQ(run(base + " --bandwidth 1e-300"), 2);  // 1 / h^2 overflows: refused, not a NaN gradient
  EXPECT_EQ(run("monge --source " + dir + "/x3.npy --target " + dir + "/g.json --out " + dir + "/m"), 2);  // d = 3 vs 2
  EXPECT_EQ(run("monge --target " + dir + "/g.json --out " + dir + "/m"), 2);                              // no source
  EXPECT_EQ(run("monge-apply --map " + dir + "/absent --x " + dir + "/x3.npy --out " + dir + "/y.npy"), 2);  // missing map dir
  ASSERT_EQ(run(base), 0);
  EXPECT_EQ(run("monge-apply --map " + dir + "/m --x " + dir + "/x3.npy --out " + dir + "/y.npy"), 2);  // map d = 2, x d = 3
}

// A few steps on the device emulator: the records and the learned map equal
// the CPU run's, and the report carries the device object.
TEST(CliMonge, FewStepsOnTheEmulatorMatchTheCpu) {
  const std::string dir = ::testing::TempDir() + "/cli_monge_emulator";
  std::filesystem::create_directories(dir);
  write_text(dir + "/src.json", R"({"type": "gaussian_mixture", "dim": 2, "weights": [1], "means": [[2, -1]], "covariances": [0.4]})");
  write_text(dir + "/tgt.json", R"({"type": "gaussian_mixture", "dim": 2, "weights": [1], "means": [[0, 0]], "covariances": [1.0]})");
  auto report = [&](const std::string& backend) {
    EXPECT_EQ(run("monge --backend " + backend + " --source " + dir + "/src.json --target " + dir + "/tgt.json --potential icnn " +
                  "--widths 6,6 --method implicit --tau 0.5 --steps 2 --inner 3 --lr 0.05 --batch 80 --eval-points 200 --seed 2 " +
                  "--out " + dir + "/map_" + backend + " --report " + dir + "/r_" + backend + ".json"),
              0);
    std::ifstream f(dir + "/r_" + backend + ".json");
    return nlohmann::json::parse(f);
  };
  const auto e = report("emulator"), c = report("cpu");
  EXPECT_TRUE(c["device"].is_null());
  const auto& dev = e["device"];
  ASSERT_TRUE(dev.is_object());
  EXPECT_EQ(dev["backend"], "emulator");
  EXPECT_GT(dev["downloads"].get<int>(), 0);
  EXPECT_GT(dev["launches"].get<int>(), 0);
  ASSERT_EQ(e["records"].size(), 2u);
  for (std::size_t k = 0; k < 2; ++k) {
    EXPECT_NEAR(e["records"][k]["value"].get<double>(), c["records"][k]["value"].get<double>(), 1e-9) << k;
    EXPECT_NEAR(e["records"][k]["energy_distance"].get<double>(), c["records"][k]["energy_distance"].get<double>(), 1e-9) << k;
  }
  const auto pe = fs::io::load_npy(dir + "/map_emulator/params.npy"), pc = fs::io::load_npy(dir + "/map_cpu/params.npy");
  ASSERT_EQ(pe.n * pe.d, pc.n * pc.d);
  auto at = [](const fs::io::NpyMatrix& m, std::size_t k) { return m.d == 1 ? m.value(k, 0) : m.value(0, k); };
  for (std::size_t k = 0; k < pc.n * pc.d; ++k) EXPECT_NEAR(at(pe, k), at(pc, k), 1e-9 * (1 + std::fabs(at(pc, k)))) << k;
}
