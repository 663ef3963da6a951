// The command line under `mpirun -np P` (issue 17): P ranks write the bytes
// one process writes (sample), or agree with it within 1e-6 relative where the
// ranks' partial sums are added in another order (dopri5's error norm, the
// Langevin step, Sinkhorn's final sums); uneven shards, a rank without rows,
// and a failing rank that must end the job rather than hang it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/run_cli.hpp"
#include "flowsampler/io/npy.hpp"

namespace fs = flowsampler;

namespace {

const std::string kTarget = FLOWSAMPLER_EXAMPLES "/targets/two_blobs.json";

// Runs the CLI under mpirun with `ranks` processes (oversubscribed: this
// machine may have fewer cores), under a timeout: a hang is rc 124.
int run_ranks(int ranks, const std::string& args, std::string* err = nullptr) {
  // mpirun refuses to start as root without these (CI containers run as root).
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  const std::string cmd = "timeout 300 " FLOWSAMPLER_MPIRUN " --oversubscribe -np " + std::to_string(ranks) + " " +
                          FLOWSAMPLER_CLI + " " + args;
  const auto [rc, text] = flowsampler::test::read_command(cmd + " 2>&1 >/dev/null");
  if (err) *err = text;
  return rc;
}

std::string bytes_of(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// The largest |a - b| / max(|b|, floor) over two arrays of the same shape.
double max_relative_difference(const std::string& a_path, const std::string& b_path, double floor = 1e-3) {
  const auto a = fs::io::load_npy(a_path), b = fs::io::load_npy(b_path);
  EXPECT_EQ(a.n, b.n);
  EXPECT_EQ(a.d, b.d);
  double worst = 0;
  for (std::size_t i = 0; i < a.n && a.n == b.n; ++i)
    for (std::size_t k = 0; k < a.d; ++k)
      worst = std::max(worst, std::fabs(a.value(i, k) - b.value(i, k)) / std::max(std::fabs(b.value(i, k)), floor));
  return worst;
}

nlohmann::json json_of(const std::string& text) { return nlohmann::json::parse(text); }

}  // namespace

TEST(CliMpi, SampleWritesTheBytesOfOneProcess) {
  const std::string dir = ::testing::TempDir();
  struct Case {
    std::string args;
    bool bit_identical;
  };
  const Case cases[] = {
      {"--n 1001 --integrator rk4 --steps 20", true},
      {"--n 1001 --path vp --horizon 6 --integrator sde --eta 1 --steps 50", true},
      {"--n 2 --integrator heun --steps 10", true},  // three ranks: one owns no row
      {"--n 1001 --integrator dopri5 --precision double", false},
      {"--n 1001 --path vp --horizon 6 --integrator sde --langevin-steps 2 --steps 30 --precision double", false},
  };
  for (const Case& c : cases) {
    const std::string base = "sample --target " + kTarget + " --seed 7 " + c.args;
    const std::string one = dir + "/mpi_one.npy", one_ll = dir + "/mpi_one_ll.npy";
    const bool ode = c.args.find("sde") == std::string::npos;
    const std::string extras_one = ode ? " --log-likelihood " + one_ll : "";
    ASSERT_EQ(flowsampler::test::run_cli(base + " --out " + one + extras_one), 0) << c.args;
    for (int ranks : {1, 2, 3}) {
      const std::string many = dir + "/mpi_many.npy", many_ll = dir + "/mpi_many_ll.npy";
      std::string err;
      ASSERT_EQ(run_ranks(ranks, base + " --out " + many + (ode ? " --log-likelihood " + many_ll : "")), 0)
          << c.args << " ranks " << ranks << ": " << err;
      if (c.bit_identical) {
        EXPECT_EQ(bytes_of(many), bytes_of(one)) << c.args << " ranks " << ranks;
        if (ode) {
          EXPECT_EQ(bytes_of(many_ll), bytes_of(one_ll)) << c.args << " ranks " << ranks;
        }
      } else {
        EXPECT_LT(max_relative_difference(many, one), 1e-6) << c.args << " ranks " << ranks;
        if (ode) {
          EXPECT_LT(max_relative_difference(many_ll, one_ll), 1e-6) << c.args << " ranks " << ranks;
        }
      }
    }
  }
}

TEST(CliMpi, TrajectoryAndInitFollowTheGlobalRows) {
  const std::string dir = ::testing::TempDir();
  const std::string init = dir + "/mpi_init.npy";
  ASSERT_EQ(flowsampler::test::run_cli("sample --target " + kTarget + " --n 37 --steps 3 --seed 1 --out " + init), 0);
  const std::string base = "sample --target " + kTarget + " --init " + init +
                           " --steps 12 --trajectory-particles 20 --snapshots 4 --seed 3 --trajectory ";
  ASSERT_EQ(flowsampler::test::run_cli(base + dir + "/t1.npy --out " + dir + "/o1.npy"), 0);
  for (int ranks : {2, 3}) {
    std::string err;
    ASSERT_EQ(run_ranks(ranks, base + dir + "/t2.npy --out " + dir + "/o2.npy"), 0) << err;
    EXPECT_EQ(bytes_of(dir + "/t2.npy"), bytes_of(dir + "/t1.npy")) << ranks;
    EXPECT_EQ(bytes_of(dir + "/o2.npy"), bytes_of(dir + "/o1.npy")) << ranks;
  }
}

TEST(CliMpi, MeanShiftDriftAgreesWithOneProcess) {
  const std::string dir = ::testing::TempDir();
  const std::string x = dir + "/mpi_x.npy", data = dir + "/mpi_data.npy";
  ASSERT_EQ(flowsampler::test::run_cli("sample --target " + kTarget + " --n 500 --steps 2 --seed 1 --out " + x), 0);
  ASSERT_EQ(flowsampler::test::run_cli("sample --target " + kTarget + " --n 700 --steps 30 --seed 2 --out " + data), 0);
  const std::string base = "drift --field mean-shift --x " + x + " --data " + data + " --eps 0.7 --steps 8 --dt 0.3 --integrator rk4 --every 4";
  ASSERT_EQ(flowsampler::test::run_cli(base + " --out " + dir + "/d1.npy --report " + dir + "/d1.json"), 0);
  for (int ranks : {2, 3}) {
    std::string err;
    ASSERT_EQ(run_ranks(ranks, base + " --out " + dir + "/d2.npy --report " + dir + "/d2.json"), 0) << err;
    EXPECT_LT(max_relative_difference(dir + "/d2.npy", dir + "/d1.npy"), 1e-6);
    const auto one = json_of(bytes_of(dir + "/d1.json")), many = json_of(bytes_of(dir + "/d2.json"));
    EXPECT_EQ(many["ranks"], ranks);
    ASSERT_EQ(many["records"].size(), one["records"].size());
    for (std::size_t r = 0; r < one["records"].size(); ++r) {
      const double a = many["records"][r]["energy_distance_to_data"], b = one["records"][r]["energy_distance_to_data"];
      EXPECT_NEAR(a, b, 1e-6 * std::fabs(b) + 1e-9) << "record " << r;
    }
  }
  // Fields that couple every particle to the moving cloud do not run sharded (yet): a clear error.
  std::string err;
  EXPECT_EQ(run_ranks(2, "drift --field mmd --x " + x + " --data " + data + " --out " + dir + "/d3.npy", &err), 2);
  EXPECT_NE(err.find("only mean-shift runs sharded"), std::string::npos) << err;
}

TEST(CliMpi, MetricsSplitOverRanksAgreeWithOneProcess) {
  const std::string dir = ::testing::TempDir();
  const std::string x = dir + "/mpi_sx.npy", y = dir + "/mpi_sy.npy";
  ASSERT_EQ(flowsampler::test::run_cli("sample --target " + kTarget + " --n 301 --steps 2 --seed 1 --out " + x), 0);
  ASSERT_EQ(flowsampler::test::run_cli("sample --target " + kTarget + " --n 257 --steps 30 --seed 2 --out " + y), 0);
  const std::string args =
      "metrics --x " + x + " --y " + y + " --sinkhorn 0.1 --energy --mmd gaussian:0.5 --unbiased --sliced-w2 16 --precision double";
  const auto [rc1, text1] = flowsampler::test::run_cli_output(args);
  ASSERT_EQ(rc1, 0);
  const auto one = json_of(text1)["metrics"];
  for (int ranks : {2, 3}) {
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    const auto [rc, text] = flowsampler::test::read_command("timeout 300 " FLOWSAMPLER_MPIRUN " --oversubscribe -np " +
                                                            std::to_string(ranks) + " " FLOWSAMPLER_CLI " " + args +
                                                            " 2>/dev/null");
    ASSERT_EQ(rc, 0) << text;
    const auto all = json_of(text);  // printed once, by rank 0
    EXPECT_EQ(all["ranks"], ranks);
    EXPECT_EQ(all["split_over_ranks"], nlohmann::json({"energy", "mmd gaussian:0.5", "sinkhorn"}));
    const auto many = all["metrics"];
    for (const char* key : {"ot_eps", "transport_cost", "divergence"}) {
      const double a = many["sinkhorn"][key], b = one["sinkhorn"][key];
      EXPECT_NEAR(a, b, 1e-6 * std::fabs(b)) << key << " ranks " << ranks;
    }
    EXPECT_EQ(many["sinkhorn"]["iterations"], one["sinkhorn"]["iterations"]);
    for (const char* key : {"energy_distance", "mmd2 gaussian:0.5 unbiased"}) {  // split by rows too
      const double a = many[key], b = one[key];
      EXPECT_NEAR(a, b, 1e-6 * std::fabs(b)) << key << " ranks " << ranks;
    }
    EXPECT_EQ(many["sliced_w2_squared"], one["sliced_w2_squared"]);  // computed by rank 0 alone
  }
}

// JKO steps couple every particle to the whole moving cloud: each rank
// iterates its rows against the exchanged cloud, and the inner solve's sums
// (the residual, Anderson's Gram matrix) are added in rank order. Solved to
// the rounding level, the ranks' clouds agree with one process's within 1e-6.
TEST(CliMpi, JkoStepsAgreeWithOneProcess) {
  const std::string dir = ::testing::TempDir();
  const std::string x = dir + "/mpi_jx.npy", pair = dir + "/mpi_jpair.npy";
  ASSERT_EQ(flowsampler::test::run_cli("sample --target " + kTarget + " --n 203 --steps 4 --seed 5 --out " + x), 0);
  ASSERT_EQ(flowsampler::test::run_cli("sample --target " + kTarget + " --n 2 --steps 4 --seed 6 --out " + pair), 0);
  struct Case {
    std::string data, args;
    std::vector<int> ranks;
  };
  const Case cases[] = {
      {x, "--estimator blob --steps 3", {2, 3}},
      {x, "--estimator kde-corrected --steps 2 --explicit", {2}},
      {x, "--estimator ot --steps 2", {3}},
      {pair, "--estimator kde --bandwidth 0.5 --steps 2", {3}},  // two particles, three ranks: one owns no row
  };
  for (const Case& c : cases) {
    const std::string base = "jko --data " + c.data + " --to-normal --h 0.3 --tol 1e-11 --max-inner 60 --precision double " +
                             "--diagnostic-points 0 " + c.args;
    ASSERT_EQ(flowsampler::test::run_cli(base + " --out " + dir + "/j1.npy --report " + dir + "/j1.json"), 0) << c.args;
    for (int ranks : c.ranks) {
      std::string err;
      ASSERT_EQ(run_ranks(ranks, base + " --out " + dir + "/j2.npy --report " + dir + "/j2.json", &err), 0)
          << c.args << " ranks " << ranks << ": " << err;
      EXPECT_LT(max_relative_difference(dir + "/j2.npy", dir + "/j1.npy"), 1e-6) << c.args << " ranks " << ranks;
      const auto one = json_of(bytes_of(dir + "/j1.json")), many = json_of(bytes_of(dir + "/j2.json"));
      EXPECT_EQ(many["ranks"], ranks);
      ASSERT_EQ(many["records"].size(), one["records"].size());
      for (std::size_t r = 1; r < one["records"].size(); ++r) {
        const double a = many["records"][r]["w2_bures"], b = one["records"][r]["w2_bures"];
        EXPECT_NEAR(a, b, 1e-6 * std::fabs(b)) << c.args << " ranks " << ranks << " record " << r;
      }
    }
  }
  // The model's inversion check runs as one process: a clear error, no model written.
  std::string err;
  EXPECT_EQ(run_ranks(2, "jko --data " + x + " --to-normal --steps 1 --model " + dir + "/jm --out " + dir + "/j3.npy", &err), 2);
  EXPECT_NE(err.find("--model"), std::string::npos) << err;
}

TEST(CliMpi, AFailingRankEndsTheJobWithoutHanging) {
  const std::string dir = ::testing::TempDir();
  std::string err;
  // Every rank fails the same validation.
  EXPECT_EQ(run_ranks(2, "sample --target " + kTarget + " --n 10 --early-stop 2 --out " + dir + "/f.npy", &err), 2) << err;
  EXPECT_NE(err.find("--early-stop"), std::string::npos) << err;
  // Only rank 0 checks the outputs: the others are ended, not left waiting.
  EXPECT_EQ(run_ranks(3, "sample --target " + kTarget + " --n 10 --out " + dir + "/no/such/dir/f.npy", &err), 2) << err;
  EXPECT_NE(err.find("--out"), std::string::npos) << err;
}
