#pragma once
// Centred copies of a block of rows in double: the covariance's first pass.
#include <cstddef>

#include "hd.hpp"

namespace flowsampler::kernels {

/// out (b x d, column-major, double) = x rows [r0, r0 + b) minus mean (d values).
template <class Real>
struct CenterRows {
  double* out;
  const Real* x;
  std::size_t n, r0, b;
  const double* mean;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const {
    const std::size_t k = e / b, i = e % b;
    out[e] = static_cast<double>(x[k * n + r0 + i]) - mean[k];
  }
};

}  // namespace flowsampler::kernels
