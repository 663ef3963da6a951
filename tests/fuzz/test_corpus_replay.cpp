// Replays the checked-in fuzz corpus (tests/fuzz/corpus/<target>/*: seeds and
// every input that ever crashed a reader) through the fuzz entry points with
// the ordinary compiler: each input is read or refused with flowsampler::Error,
// never a crash or another exception. New crashers go into the corpus.
#include <gtest/gtest.h>

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
  const std::string scratch = ::testing::TempDir() + "/corpus_replay_" + target;
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

}  // namespace
