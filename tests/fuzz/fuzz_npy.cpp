// libFuzzer target for the .npy parser: any input must parse into a consistent
// matrix or raise flowsampler::Error (never crash, hang or over-allocate).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "flowsampler/core/error.hpp"
#include "flowsampler/io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto m = flowsampler::io::parse_npy(data, size, "fuzz.npy");
    if (m.data.size() != m.n * m.d * (m.float64 ? 8 : 4)) std::abort();
    if (m.n && m.d) (void)m.value(m.n - 1, m.d - 1);
  } catch (const flowsampler::Error&) {
  }
  return 0;
}
