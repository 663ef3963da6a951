#pragma once
// Gathers of rows of a column-major cloud into a smaller one.
#include <cstddef>
#include <cstdint>

#include "hd.hpp"

namespace flowsampler::kernels {

/// out (k x d) = rows floor(i n / k), i < k, of in (n x d): an evenly strided subsample.
template <class Real>
struct StridedRows {
  Real* out;
  const Real* in;
  std::size_t n, k;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const {
    const std::size_t c = e / k, i = e % k;
    const std::size_t row = i * (n / k) + i * (n % k) / k;  // floor(i n / k) without overflowing i n
    out[e] = in[c * n + row];
  }
};

/// out (k x d) = rows index[i] of in (n x d).
template <class Real>
struct GatherRows {
  Real* out;
  const Real* in;
  const std::uint32_t* index;
  std::size_t n, k;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const {
    const std::size_t c = e / k, i = e % k;
    out[e] = in[c * n + index[i]];
  }
};

}  // namespace flowsampler::kernels
