#pragma once
// A cloud's rows in Hilbert order: near points get near rows, so that a
// block of rows, and a span of them, fill a small box, which is what lets the
// softmax skip far spans (src/cpu/span_bounds.hpp). Hilbert rather than
// Morton (Z) order: the Z curve jumps across its quadrants, and in a model
// of Sinkhorn at eps = 0.01 (2^14 points, 3-D) a block then kept 46% of the
// 64-row spans against 36% in Hilbert order. Each key carries its row in its
// low bits, key = index 2^index_bits + row < 2^52 (exact in double), so that
// one sort of doubles gives the permutation.
#include <cstddef>
#include <cstdint>

#include "hd.hpp"

namespace flowsampler::kernels {

/// key[i] for row i of x (n x d column-major, d <= max_dims): the Hilbert
/// index of its cell on a grid of 2^bits cubes per axis from `lo`, of side
/// 1 / scale (J. Skilling, "Programming the Hilbert curve", AIP Conf. Proc.
/// 707, 2004: the axes to the transposed index, whose bits interleaved from
/// the highest are the index), then the row.
template <class Real>
struct HilbertKeys {
  static constexpr int max_dims = 8;
  double* key;
  const Real* x;
  std::size_t n;
  int d, bits, index_bits;
  double lo[max_dims];
  double scale;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i) const {
    const double top = static_cast<double>((std::uint64_t(1) << bits) - 1);
    std::uint32_t a[max_dims];
    for (int k = 0; k < d; ++k) {
      const double c = (static_cast<double>(x[static_cast<std::size_t>(k) * n + i]) - lo[k]) * scale;
      a[k] = static_cast<std::uint32_t>(c > 0 ? (c < top ? c : top) : 0.0);  // NaN to cell 0
    }
    const std::uint32_t high = std::uint32_t(1) << (bits - 1);
    for (std::uint32_t q = high; q > 1; q >>= 1) {  // undo the excess work
      const std::uint32_t p = q - 1;
      for (int k = 0; k < d; ++k) {
        if (a[k] & q) {
          a[0] ^= p;  // invert
        } else {
          const std::uint32_t t = (a[0] ^ a[k]) & p;  // exchange
          a[0] ^= t, a[k] ^= t;
        }
      }
    }
    for (int k = 1; k < d; ++k) a[k] ^= a[k - 1];  // Gray encode
    std::uint32_t t = 0;
    for (std::uint32_t q = high; q > 1; q >>= 1)
      if (a[d - 1] & q) t ^= q - 1;
    for (int k = 0; k < d; ++k) a[k] ^= t;
    std::uint64_t code = 0;
    for (int b = bits - 1; b >= 0; --b)
      for (int k = 0; k < d; ++k) code = (code << 1) | ((a[k] >> b) & 1u);
    key[i] = static_cast<double>((code << index_bits) | static_cast<std::uint64_t>(i));
  }
};

/// The row a sorted key carries.
FLOWSAMPLER_HD FLOWSAMPLER_INLINE std::size_t key_row(double key, std::uint64_t mask) {
  return static_cast<std::size_t>(static_cast<std::uint64_t>(key) & mask);
}

/// The rows of in (n x d) in key order: out's row i is in's row
/// key_row(key[i]); with Back, the inverse: out's row key_row(key[i]) is in's row i.
template <class Real, bool Back>
struct RowsByKey {
  Real* out;
  const Real* in;
  const double* key;
  std::size_t n;
  std::uint64_t mask;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const {
    const std::size_t c = e / n, i = e % n, from = c * n + key_row(key[i], mask);
    if constexpr (Back) out[from] = in[e];
    else out[e] = in[from];
  }
};

}  // namespace flowsampler::kernels
