#pragma once
// The squared distance between paired rows of two column-major clouds and its
// sum and maximum over the rows (map distances, Fisher information, the JKO
// diagnostics' RMS and largest displacements).
#include <cstddef>

#include "hd.hpp"
#include "reduce/fold.hpp"

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

/// Max: acc[0] = max_i q_i. Sum: acc[0] += q_i, acc[1] += q_i^2 (width 2).
template <class Real, bool Max>
struct RowSqDist {
  static constexpr bool max = Max;
  const Real* a;
  const Real* b;
  std::size_t n, d;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i, double* acc) const {
    const double q = row_sqdist(a, b, n, d, i);
    if (Max) {
      acc[0] = fold_merge(acc[0], q, true);
    } else {
      acc[0] += q;
      acc[1] += q * q;
    }
  }
};

}  // namespace flowsampler::kernels
