// Hostile inputs (issue 19): every one gives a clean exit 2 with a one-line
// message naming the option or file, never a crash, a hang, exit 1 "internal
// error" or a silent wrap-around.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "cli/hostile_files.hpp"
#include "cli/run_cli.hpp"
#include "flowsampler/io/npy.hpp"

namespace {

using flowsampler::test::run_cli_stderr;
namespace t = flowsampler::test;

// Exit 2 and a message that contains `what`.
void expect_refused(const std::string& args, const std::string& what) {
  const auto [rc, err] = run_cli_stderr(args);
  EXPECT_EQ(rc, 2) << args << "\n" << err;
  EXPECT_NE(err.find(what), std::string::npos) << args << "\n" << err;
  EXPECT_EQ(err.find("internal error"), std::string::npos) << err;
}

// A valid icnn map directory (d = 2, one hidden layer of width 2, skip) whose
// manifest entry `key` is replaced by the JSON text `value`.
std::string map_with(const std::string& dir, const std::string& key, const std::string& value) {
  const std::string map = dir + "/map_" + std::to_string(std::hash<std::string>()(key + value));
  std::filesystem::create_directories(map);
  std::string m = R"({"format": "flowsampler-monge-map", "version": 1, "type": "icnn", "dim": 2, "num_params": 11,
                      "init": "identity", "widths": [2], "skip": true})";
  const std::size_t at = m.find("\"" + key + "\"");
  const std::size_t colon = m.find(':', at), end = m.find_first_of(",}", key == "widths" ? m.find(']', at) : colon);
  m.replace(colon + 1, end - colon - 1, " " + value);
  t::write_text(map + "/manifest.json", m);
  const std::vector<double> theta(11, 0.5);
  flowsampler::io::write_npy_array<double>(map + "/params.npy", theta.data(), {theta.size()});
  return map;
}

}  // namespace

// The crash of issue 19: the ICNN's parameter offsets wrapped and the array
// was written past its end.
TEST(CliHostile, HugeOrNegativeMapSizesAreRefusedNotACrash) {
  const std::string dir = t::scratch_dir(), g = t::gaussian_spec(dir), x = t::cloud(dir);
  expect_refused("monge --source " + g + " --target " + g + " --widths 9223372036854775808 --steps 1 --inner 1 --eval-points 0 "
                 "--out " + dir + "/m",
                 "--widths");
  const std::string ok = map_with(dir, "dim", "2");
  ASSERT_EQ(run_cli_stderr("monge-apply --map " + ok + " --x " + x + " --out " + dir + "/y.npy").first, 0);
  expect_refused("monge-apply --map " + map_with(dir, "dim", "-1") + " --x " + x + " --out " + dir + "/y.npy", "\"dim\"");
  expect_refused("monge-apply --map " + map_with(dir, "widths", "[-1]") + " --x " + x + " --out " + dir + "/y.npy", "\"widths\"");
  expect_refused("monge-apply --map " + map_with(dir, "widths", "[9223372036854775808]") + " --x " + x + " --out " + dir + "/y.npy",
                 "width of layer 1");
  expect_refused("monge-apply --map " + map_with(dir, "widths", "[2147483647, 2147483647, 2147483647, 2147483647, 2147483647]") +
                     " --x " + x + " --out " + dir + "/y.npy",
                 "icnn potential");
  expect_refused("monge-apply --map " + map_with(dir, "version", "1e999") + " --x " + x + " --out " + dir + "/y.npy", "manifest.json");
  expect_refused("monge-apply --map " + map_with(dir, "num_params", "-11") + " --x " + x + " --out " + dir + "/y.npy", "\"num_params\"");
}

// CLI11 reads unsigned options with strtoull: -1 became 2^64 - 1 and 010 octal 8.
TEST(CliHostile, NegativeOrMalformedCountsAreRefused) {
  const std::string dir = t::scratch_dir(), g = t::gaussian_spec(dir), x = t::cloud(dir), o = " --out " + dir + "/o.npy";
  expect_refused("sample --target " + g + " --n 10 --steps 2 --seed -1" + o, "--seed");
  expect_refused("sample --target " + g + " --n -5 --steps 2" + o, "--n");
  expect_refused("sample --target " + g + " --n 010 --steps 2" + o + " --seed 0x10", "--seed");
  expect_refused("sample --target " + g + " --n 10 --steps 2 --quality-subsample -1 --report " + dir + "/r.json" + o,
                 "--quality-subsample");
  expect_refused("metrics --x " + x + " --y " + x + " --energy --seed -1", "--seed");
  expect_refused("drift --field mmd --x " + x + " --target " + g + " --target-samples -1" + o, "--target-samples");
  expect_refused("jko-sample --model " + dir + " --n -1" + o, "--n");
  expect_refused("monge --source " + g + " --target " + g + " --batch -1 --out " + dir + "/m", "--batch");
  expect_refused("monge --source " + g + " --target " + g + " --widths 8,-1 --out " + dir + "/m", "--widths");
  expect_refused("monge --source " + g + " --target " + g + " --batch 3000000000 --out " + dir + "/m", "--batch");  // int GEMMs
  expect_refused("monge --source " + g + " --target " + g + " --widths 1048576,1048576 --steps 1 --eval-points 0 --out " + dir + "/m",
                 "GiB");
}

// Sizes whose buffers cannot fit are refused up front with the estimate.
TEST(CliHostile, SizesBeyondMemoryAreRefusedUpFront) {
  const std::string dir = t::scratch_dir(), g = t::gaussian_spec(dir);
  expect_refused("sample --target " + g + " --n 1099511627776 --steps 2 --out " + dir + "/o.npy", "GiB");
  expect_refused("sample --target " + g + " --init " + t::cloud(dir, "big.npy", 5000) + " --steps 100000000 --trajectory " + dir +
                     "/tr.npy --snapshots 100000000 --out " + dir + "/o.npy",
                 "--snapshots 100000000");
}

// nlohmann throws out_of_range (not parse_error) on 1e999.
TEST(CliHostile, JsonNumbersOutOfRangeAreBadInput) {
  const std::string dir = t::scratch_dir(), o = " --n 10 --steps 2 --out " + dir + "/o.npy";
  expect_refused("sample --target " + t::gaussian_spec(dir, "[1e999, 0]") + o, "g.json");
  t::write_text(dir + "/d.json", R"({"type": "gaussian_mixture", "dim": 1e999, "weights": [1], "means": [[0]], "covariances": [1]})");
  expect_refused("sample --target " + dir + "/d.json" + o, "d.json");
  expect_refused("sample --target " + t::gaussian_spec(dir) + " --noise-cov 1e999" + o, "--noise-cov");
}

// A FIFO hung the reader forever and /dev/zero read until bad_alloc; a
// directory gave "internal error". All are refused before anything opens them.
TEST(CliHostile, InputsMustBeRegularFiles) {
  const std::string dir = t::scratch_dir(), g = t::gaussian_spec(dir), x = t::cloud(dir), f = t::fifo(dir);
  const std::string o = " --n 10 --steps 2 --out " + dir + "/o.npy";
  expect_refused("sample --target " + f + o, "FIFO");
  expect_refused("sample --target " + dir + o, "directory");
  expect_refused("sample --target " + g + " --init /dev/zero --steps 2 --out " + dir + "/o.npy", "character device");
  expect_refused("metrics --x " + f + " --y " + x + " --energy", "FIFO");
  expect_refused("drift --field mmd --x " + x + " --data " + f + " --out " + dir + "/o.npy", "FIFO");
  t::write_text(dir + "/e_fifo.json", R"({"type": "empirical", "points": "fifo"})");
  expect_refused("sample --target " + dir + "/e_fifo.json --early-stop 0.01" + o, "FIFO");
  t::write_text(dir + "/e_zero.json", R"({"type": "empirical", "points": "/dev/zero"})");
  expect_refused("sample --target " + dir + "/e_zero.json --early-stop 0.01" + o, "character device");
  expect_refused("monge-apply --map " + x + " --x " + x + " --out " + dir + "/y.npy", "not a directory");
}
