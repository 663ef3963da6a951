#pragma once
#include <cstddef>
#include <cstdint>

namespace flowsampler::cuda {
struct Handles;
/// Device twin of cpu::fill_random; `out` is device memory.
template <class Real>
void fill_random(Handles* h, Real* out, std::size_t n, std::size_t d, std::uint64_t seed,
                 std::uint32_t draw, int kind);
}  // namespace flowsampler::cuda
