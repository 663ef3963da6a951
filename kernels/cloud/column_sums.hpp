#pragma once
// Reduction functors over the rows of a column-major n x d cloud.
#include <cstddef>

#include "hd.hpp"

namespace flowsampler::kernels {

/// acc[k] += x[col0 + k][i] for `width` consecutive columns (in double).
template <class Real>
struct ColumnSums {
  static constexpr bool max = false;
  const Real* x;
  std::size_t n;
  std::size_t col0;
  int width;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i, double* acc) const {
    for (int k = 0; k < width; ++k) acc[k] += static_cast<double>(x[(col0 + static_cast<std::size_t>(k)) * n + i]);
  }
};

}  // namespace flowsampler::kernels
