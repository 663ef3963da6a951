// `flowsampler drift` end to end: drifting and MMD flows carry noise onto a
// data cloud (the recorded energy distance falls), bad input exits 2.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "cli/run_cli.hpp"
#include "flowsampler/io/npy.hpp"

namespace fs = flowsampler;

namespace {
const auto run = flowsampler::test::run_cli;
}  // namespace

TEST(CliDrift, FlowsReachTheData) {
  const std::string dir = ::testing::TempDir();
  std::mt19937 rng(2);
  std::normal_distribution<double> n01;
  std::vector<double> x(2 * 500), y(2 * 400);
  for (auto& v : x) v = n01(rng);
  for (std::size_t j = 0; j < 400; ++j) y[2 * j] = 3 + 0.5 * n01(rng), y[2 * j + 1] = -1 + 0.5 * n01(rng);
  fs::io::write_npy(dir + "/dx.npy", x.data(), 500, 2);
  fs::io::write_npy(dir + "/dy.npy", y.data(), 400, 2);
  for (const std::string field : {"drifting --eps 0.5 --dt 0.5", "mmd --kernel energy --dt 1", "mean-shift --eps 0.3 --dt 0.2",
                                  "sinkhorn --ot-eps 0.1 --dt 0.5", "mmd --kernel energy --dt 1 --batch 100",
                                  "drifting-normalized --dt 0.05"}) {
    ASSERT_EQ(run("drift --field " + field + " --x " + dir + "/dx.npy --data " + dir + "/dy.npy --steps 100 --every 50 --out " +
                  dir + "/dz.npy --report " + dir + "/dr.json"),
              0)
        << field;
    std::ifstream f(dir + "/dr.json");
    const auto j = nlohmann::json::parse(f);
    const auto& rec = j["records"];
    ASSERT_EQ(rec.size(), 3u);
    const double first = rec[0]["energy_distance_to_data"].get<double>(), last = rec[2]["energy_distance_to_data"].get<double>();
    // Mean shift alone attracts without repelling: it contracts onto the data's
    // modes rather than reaching its law, so only a drop is expected of it.
    const double factor = field.rfind("mean-shift", 0) == 0 ? 0.2 : 0.05;
    EXPECT_LT(last, factor * first) << field << ": " << first << " -> " << last;
    EXPECT_EQ(fs::io::load_npy(dir + "/dz.npy").n, 500u);
  }
  const std::string t = FLOWSAMPLER_EXAMPLES "/targets/two_blobs.json";
  EXPECT_EQ(run("drift --field svgd --median-bandwidth --target " + t + " --x " + dir + "/dx.npy --steps 5 --out " + dir + "/dz.npy"), 0);
  EXPECT_EQ(run("drift --field svgd --x " + dir + "/dx.npy --out " + dir + "/dz.npy"), 2);           // no target
  EXPECT_EQ(run("drift --field attention --x " + dir + "/dx.npy --out " + dir + "/dz.npy"), 2);      // unknown field
  EXPECT_EQ(run("drift --field mmd --x " + dir + "/dx.npy --out " + dir + "/dz.npy"), 2);            // no data
  EXPECT_EQ(run("drift --field mmd --x " + dir + "/dx.npy --data " + dir + "/dy.npy --eps 0 --out " + dir + "/dz.npy"), 2);
  EXPECT_EQ(run("drift --field mmd --x " + dir + "/dx.npy --data " + dir + "/dy.npy --integrator ddim --out " + dir + "/dz.npy"), 2);
  EXPECT_EQ(run("drift --field kde-score --kernel laplace --x " + dir + "/dx.npy --out " + dir + "/dz.npy"), 2);
  // Fields of the cloud alone (no data, no target) run in any dimension.
  for (const std::string field : {"kde-score --eps 0.5", "blob --eps 0.5", "ot-score"})
    EXPECT_EQ(run("drift --field " + field + " --x " + dir + "/dx.npy --steps 3 --dt 0.01 --out " + dir + "/dz.npy"), 0) << field;
}
