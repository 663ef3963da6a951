// Replays the checked-in fuzz corpus (tests/fuzz/corpus/<target>/*: seeds and
// every input that ever crashed a reader) through the fuzz entry points with
// the ordinary compiler: each input is read or refused with flowsampler::Error,
// never a crash or another exception. New crashers go into the corpus.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz_targets.hpp"

namespace {

namespace sfs = std::filesystem;

std::vector<sfs::path> corpus(const std::string& target) {
  std::vector<sfs::path> files;
  for (const auto& e : sfs::directory_iterator(sfs::path(FLOWSAMPLER_CORPUS) / target))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

class CorpusReplay : public ::testing::TestWithParam<std::string> {};

TEST_P(CorpusReplay, EveryInputIsReadOrRefusedCleanly) {
  const std::string target = GetParam();
  const auto files = corpus(target);
  ASSERT_GE(files.size(), 3u) << "the " << target << " corpus is too small";
  // Per process: the plain and the sanitized replay run side by side under ctest -j.
  const std::string scratch = ::testing::TempDir() + "/corpus_replay_" + target + "_" + std::to_string(::getpid());
  int refused = 0;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    sfs::remove_all(scratch);
    sfs::create_directories(scratch);
    try {
      flowsampler::fuzz::run(target, bytes, scratch);
    } catch (const flowsampler::Error&) {
      ++refused;
    } catch (const std::exception& e) {
      ADD_FAILURE() << f << ": " << typeid(e).name() << ": " << e.what();
    }
  }
  EXPECT_GE(refused, 1) << "the " << target << " corpus should hold malformed inputs too";
  sfs::remove_all(scratch);
}

INSTANTIATE_TEST_SUITE_P(Readers, CorpusReplay,
                         ::testing::Values("npy", "target_spec", "noise_spec", "map_manifest", "model_manifest"));
#ifdef FLOWSAMPLER_FUZZ_CLI
INSTANTIATE_TEST_SUITE_P(CommandLine, CorpusReplay, ::testing::Values("cli_args"));

std::string corpus_file(const std::string& target, const std::string& name) {
  std::ifstream in(sfs::path(FLOWSAMPLER_CORPUS) / target / name, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The argument target parses what the CLI accepts and refuses what it refuses
// (exit 2 there): a target that refused everything would fuzz nothing.
TEST(CommandLineTarget, AcceptsValidLinesAndRefusesBadOnes) {
  for (const char* ok : {"info", "sample-valid", "sample-times", "metrics-valid", "drift-valid", "jko-valid", "option-equals",
                         "backend-after", "sample-seed-octal"})  // 010 is read as ten, not octal eight
    EXPECT_NO_THROW(flowsampler::fuzz::cli_args(corpus_file("cli_args", ok))) << ok;
  for (const char* bad : {"sample-seed-negative", "sample-n-float", "sample-times-and-steps",
                          "monge-widths-overflow", "backend-tpu", "sample-target-dev", "two-commands", "help", "empty"})
    EXPECT_THROW(flowsampler::fuzz::cli_args(corpus_file("cli_args", bad)), flowsampler::Error) << bad;
}
#endif

}  // namespace
