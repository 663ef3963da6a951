#pragma once
// The squared distance between paired rows of two column-major clouds, the
// building block of the per-particle distance passes (metrics, JKO diagnostics).
#include <cstddef>

#include "hd.hpp"

namespace flowsampler::kernels {

/// |a_i - b_i|^2 of row i of two n x d clouds, in double.
template <class Real>
FLOWSAMPLER_HD FLOWSAMPLER_INLINE double row_sqdist(const Real* a, const Real* b, std::size_t n, std::size_t d,
                                                    std::size_t i) {
  double q = 0;
  for (std::size_t k = 0; k < d; ++k) {
    const double t = static_cast<double>(a[k * n + i]) - static_cast<double>(b[k * n + i]);
    q += t * t;
  }
  return q;
}

}  // namespace flowsampler::kernels
