#pragma once
// Counter-based random fills of a column-major n x d cloud: coordinate k of
// particle i is drawn from Philox keyed by (seed, first + i, draw, k), first
// the global index of the cloud's row 0 (a rank's shard starts past 0), so it
// depends on neither N, the thread count, the shard nor the backend.
#include <cstddef>
#include <cstdint>

#include "random/philox.hpp"

namespace flowsampler::kernels {

enum class Distribution { uniform, normal };

template <class Real>
struct RandomFill {
  Real* out;
  std::size_t n;
  std::uint64_t seed;
  std::uint32_t draw;
  Distribution kind;
  std::size_t first = 0;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const {
    const std::size_t k = e / n, i = first + e % n;
    out[e] = kind == Distribution::uniform ? uniform_coordinate<Real>(seed, draw, i, static_cast<std::uint32_t>(k))
                                           : normal_coordinate<Real>(seed, draw, i, static_cast<std::uint32_t>(k));
  }
};

}  // namespace flowsampler::kernels

namespace flowsampler::kernels {

/// The first k with cdf[k] >= u * total (u in (0, 1]), i.e. an index drawn
/// with probabilities proportional to the increments of cdf; a zero-weight
/// index is never returned.
FLOWSAMPLER_HD inline std::uint32_t categorical_index(const double* cdf, std::uint32_t K, double total, double u) {
  const double v = u * total;
  std::uint32_t lo = 0, hi = K;  // lower_bound
  while (lo < hi) {
    const std::uint32_t mid = lo + (hi - lo) / 2;
    if (cdf[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo < K ? lo : K - 1;
}

}  // namespace flowsampler::kernels
