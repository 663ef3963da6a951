#pragma once
// How reductions of the backend table fold values: sums start at 0, maxima
// at -inf, and a NaN wins a max so that it cannot vanish from a result.
#include <limits>

#include "hd.hpp"

namespace flowsampler::kernels {

/// Most doubles one reduction folds per index (a reduction functor's width).
constexpr int reduce_max_width = 32;

FLOWSAMPLER_HD inline double fold_identity(bool max) { return max ? -std::numeric_limits<double>::infinity() : 0.0; }

FLOWSAMPLER_HD inline double fold_merge(double a, double b, bool max) {
  if (!max) return a + b;
  return (a > b || a != a) ? a : b;
}

}  // namespace flowsampler::kernels
