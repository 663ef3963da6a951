#pragma once
// Per-particle reductions of the metrics over paired rows and plain values
// (metrics/map_distance.cpp, metrics/fisher.cpp).
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "hd.hpp"
#include "random/philox.hpp"
#include "cloud/row_sqdist.hpp"
#include "reduce/fold.hpp"

namespace flowsampler::kernels {

/// Max: acc[0] = max_i v_i. Sum: acc[0] += v_i / divisor.
template <bool Max>
struct Values {
  static constexpr bool max = Max;
  const double* v;
  double divisor;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i, double* acc) const {
    if (Max)
      acc[0] = fold_merge(acc[0], v[i], true);
    else
      acc[0] += v[i] / divisor;
  }
};

/// moved_i = x_i + h u_i / |u_i|, u_i ~ N(0, I) drawn in double from Philox
/// keyed by (seed, draw, i): the random finite-difference points of the
/// Lipschitz estimate.
template <class Real>
struct FiniteDifferencePoints {
  Real* moved;
  const Real* x;
  std::size_t n, d;
  double h;
  std::uint64_t seed;
  std::uint32_t draw;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i) const {
    double norm = 0;
    for (std::size_t k = 0; k < d; ++k) {
      const double u = normal_coordinate<double>(seed, draw, i, static_cast<std::uint32_t>(k));
      norm += u * u;
    }
    norm = std::sqrt(norm);
    for (std::size_t k = 0; k < d; ++k) {
      const double u = normal_coordinate<double>(seed, draw, i, static_cast<std::uint32_t>(k));
      moved[k * n + i] = static_cast<Real>(static_cast<double>(x[k * n + i]) + h * u / norm);
    }
  }
};

/// ratio_i = |tx_i - tm_i| / |moved_i - x_i|: the finite-difference quotient
/// of a map over the actual (rounded) step.
template <class Real>
struct LipschitzRatio {
  double* ratio;
  const Real* tx;
  const Real* tm;
  const Real* moved;
  const Real* x;
  std::size_t n, d, d_out;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i) const {
    ratio[i] = std::sqrt(row_sqdist(tx, tm, n, d_out, i)) / std::sqrt(row_sqdist(moved, x, n, d, i));
  }
};

}  // namespace flowsampler::kernels
