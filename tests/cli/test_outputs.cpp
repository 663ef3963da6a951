// Outputs are atomic and checked (issue 19): a failed write exits 1 naming
// the path; outputs are validated before any work and published only when
// the whole command succeeded, so a failing command leaves an existing file
// untouched; outputs may not coincide with each other or with the inputs.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "cli/hostile_files.hpp"
#include "cli/run_cli.hpp"

namespace {

using flowsampler::test::run_cli_stderr;
namespace t = flowsampler::test;

void expect_exit(const std::string& args, int code, const std::string& what) {
  const auto [rc, err] = run_cli_stderr(args);
  EXPECT_EQ(rc, code) << args << "\n" << err;
  EXPECT_NE(err.find(what), std::string::npos) << args << "\n" << err;
}

}  // namespace

// Output streams were checked before the final flush: /dev/full exited 0.
TEST(CliOutputs, FailedWritesExitOneNamingThePath) {
  const std::string dir = t::scratch_dir(), g = t::gaussian_spec(dir), x = t::cloud(dir);
  expect_exit("sample --target " + g + " --n 10 --steps 2 --out /dev/full", 1, "/dev/full");
  expect_exit("sample --target " + g + " --n 10 --steps 2 --out " + dir + "/o.npy --report /dev/full", 1, "/dev/full");
  const int rc = std::system((std::string(FLOWSAMPLER_CLI) + " metrics --x " + x + " --y " + x + " --energy >/dev/full 2>/dev/null").c_str());
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 1) << rc;  // stdout is checked too
  // A character device is written in place: /dev/null works.
  EXPECT_EQ(run_cli_stderr("sample --target " + g + " --n 10 --steps 2 --out /dev/null --report /dev/null").first, 0);
}

// The file behind a symbolic link is replaced, not the link.
TEST(CliOutputs, SymbolicLinksAreWrittenThrough) {
  const std::string dir = t::scratch_dir(), g = t::gaussian_spec(dir), real = t::cloud(dir, "real.npy");
  std::filesystem::create_symlink(real, dir + "/link.npy");
  const std::string before = t::read_text(real);
  ASSERT_EQ(run_cli_stderr("sample --target " + g + " --n 10 --steps 2 --out " + dir + "/link.npy").first, 0);
  EXPECT_TRUE(std::filesystem::is_symlink(dir + "/link.npy"));
  EXPECT_NE(t::read_text(real), before);
}

TEST(CliOutputs, OutputPathsAreValidatedBeforeAnyWork) {
  const std::string dir = t::scratch_dir(), g = t::gaussian_spec(dir), x = t::cloud(dir);
  const std::string s = "sample --target " + g + " --n 10 --steps 2";
  expect_exit(s + " --out " + dir, 2, "is a directory");
  expect_exit(s + " --out " + dir + "/missing/o.npy", 2, "does not exist");
  expect_exit(s + " --out " + t::fifo(dir), 2, "not a regular file");
  const std::string keep = t::cloud(dir, "keep.npy"), before = t::read_text(keep);
  expect_exit(s + " --out " + keep + " --report " + keep, 2, "--report");
  expect_exit(s + " --out " + keep + " --log-likelihood " + dir + "/./keep.npy", 2, "--log-likelihood");
  expect_exit("sample --target " + g + " --init " + keep + " --steps 2 --out " + keep, 2, "--init");
  // An empirical target's "points" file is an input too: samples written over it would replace the data.
  t::write_text(dir + "/empirical.json", R"({"type": "empirical", "points": "keep.npy"})");
  expect_exit("sample --target " + dir + "/empirical.json --early-stop 0.01 --n 10 --steps 2 --out " + keep, 2,
              "\"points\" file");
  EXPECT_EQ(t::read_text(keep), before);
  // A later output that cannot be written no longer leaves --out replaced.
  expect_exit(s + " --out " + keep + " --report " + dir + "/missing/r.json", 2, "--report");
  EXPECT_EQ(t::read_text(keep), before);
  // jko --out inside --model would be deleted when the model directory is replaced.
  expect_exit("jko --data " + x + " --to-normal --steps 1 --model " + dir + "/jm --out " + dir + "/jm/X.npy", 2, "inside --model");
  EXPECT_FALSE(std::filesystem::exists(dir + "/jm"));
  // A directory that is not a model or map is never replaced wholesale.
  t::write_text(dir + "/precious.txt", "data");
  expect_exit("monge --source " + g + " --target " + g + " --steps 1 --inner 1 --eval-points 0 --out " + dir, 2, "refusing");
  EXPECT_EQ(t::read_text(dir + "/precious.txt"), "data");
}

// Directories are written aside and renamed: a second run replaces the model
// as a whole (no stale clouds), and leaves no temporary files behind.
TEST(CliOutputs, DirectoriesAreReplacedAsAWhole) {
  const std::string dir = t::scratch_dir(), x = t::cloud(dir), model = dir + "/jm";
  ASSERT_EQ(run_cli_stderr("jko --data " + x + " --to-normal --steps 3 --model " + model + " --out " + dir + "/a.npy").first, 0);
  ASSERT_TRUE(std::filesystem::exists(model + "/X_003.npy"));
  ASSERT_EQ(run_cli_stderr("jko --data " + x + " --to-normal --steps 1 --model " + model + " --out " + dir + "/a.npy").first, 0);
  EXPECT_TRUE(std::filesystem::exists(model + "/X_001.npy"));
  EXPECT_FALSE(std::filesystem::exists(model + "/X_003.npy"));
  EXPECT_EQ(run_cli_stderr("jko-sample --model " + model + " --n 5 --out " + dir + "/s.npy").first, 0);
  for (const auto& e : std::filesystem::directory_iterator(dir))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}
