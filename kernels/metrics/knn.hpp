#pragma once
// The k-th nearest-neighbour distance of each point from the k + 1 (self) or
// k smallest squared distances of the pairwise engine (metrics/knn.cpp).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "hd.hpp"
#include "reduce/fold.hpp"

namespace flowsampler::kernels {

/// Where the k nearest neighbours of point i are (the engine's kmin output:
/// n x kk column-major distances and indices). With `self`, y is x itself and
/// kk = k + 1: the neighbour with index i is skipped.
template <class Real>
struct KthNeighbour {
  const Real* d2;
  const std::uint32_t* idx;
  std::size_t n;
  int k, kk;
  bool self;
  /// The squared distance of the k-th neighbour of point i (other than i).
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE double sqdist(std::size_t i) const { return sqdist_at(i, k); }
  /// The same for the neighbour of rank r (1 <= r <= k).
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE double sqdist_at(std::size_t i, int r) const {
    int seen = 0;
    for (int c = 0; c < kk; ++c) {
      if (self && idx[static_cast<std::size_t>(c) * n + i] == i) continue;
      if (++seen == r) return static_cast<double>(d2[static_cast<std::size_t>(c) * n + i]);
    }
    return static_cast<double>(d2[static_cast<std::size_t>(kk - 1) * n + i]);  // i was not among its own kk (ties at 0)
  }
};

/// acc[0] += log of the k-th neighbour distance (0.5 log of its square),
/// acc[1] += 1 for a point whose k-th neighbour is at distance 0 (or NaN),
/// acc[2] += 1 for a point whose nearest neighbour is at distance 0 (a duplicate).
template <class Real>
struct LogKthDistance {
  static constexpr bool max = false;
  KthNeighbour<Real> nb;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i, double* acc) const {
    const double kth = nb.sqdist(i);
    if (kth > 0)
      acc[0] += 0.5 * std::log(kth);
    else
      acc[1] += 1;
    if (!(nb.sqdist_at(i, 1) > 0)) acc[2] += 1;
  }
};

/// acc[0] = max over the points whose k-th neighbour is at distance 0 of -i:
/// minus the first such point (for the error message).
template <class Real>
struct FirstZeroKth {
  static constexpr bool max = true;
  KthNeighbour<Real> nb;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i, double* acc) const {
    if (!(nb.sqdist(i) > 0)) acc[0] = fold_merge(acc[0], -static_cast<double>(i), true);
  }
};

}  // namespace flowsampler::kernels
