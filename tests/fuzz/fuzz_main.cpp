// One libFuzzer binary per reader: built with -DFLOWSAMPLER_FUZZ_TARGET="name"
// (see fuzz_targets.hpp); Error is the expected outcome of a malformed input.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "fuzz/fuzz_targets.hpp"

namespace {
const std::string scratch = "/tmp/flowsampler-fuzz-" + std::to_string(::getpid());
const int cleanup = std::atexit([] {
  std::error_code ec;
  std::filesystem::remove_all(scratch, ec);
});
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)cleanup;
  try {
    flowsampler::fuzz::run(FLOWSAMPLER_FUZZ_TARGET, std::string(reinterpret_cast<const char*>(data), size), scratch);
  } catch (const flowsampler::Error&) {
  }
  return 0;
}
