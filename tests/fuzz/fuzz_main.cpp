// One libFuzzer binary per reader: built with -DFLOWSAMPLER_FUZZ_TARGET="name"
// (see fuzz_targets.hpp); Error is the expected outcome of a malformed input.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string scratch = "/tmp/flowsampler-fuzz-" + std::to_string(::getpid());
  try {
    flowsampler::fuzz::run(FLOWSAMPLER_FUZZ_TARGET, std::string(reinterpret_cast<const char*>(data), size), scratch);
  } catch (const flowsampler::Error&) {
  }
  return 0;
}
