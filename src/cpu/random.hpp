#pragma once
#include <cstddef>
#include <cstdint>

namespace flowsampler::cpu {
/// Column-major n x d fill; kind 0 = uniform (0,1], 1 = standard normal.
template <class Real>
void fill_random(int threads, Real* out, std::size_t n, std::size_t d, std::uint64_t seed,
                 std::uint32_t draw, int kind);
}  // namespace flowsampler::cpu
