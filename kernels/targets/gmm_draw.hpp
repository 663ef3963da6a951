#pragma once
// Draws from a Gaussian mixture, one coordinate per thread: particle i (its
// global index: first + its row) picks
// component k by a categorical draw (Philox keyed by (seed, i, draw_k)), then
// coordinate j = m_k[j] + sum_r U_k[r d + j] sqrt(lambda_k[r]) N(seed, i, draw_x, r)
// (or m_k[j] + sqrt(lambda_k[j]) N(...) for diagonal components), in double,
// the same arithmetic and order on every backend.
#include <cstddef>
#include <cstdint>

#include "random/fill.hpp"

namespace flowsampler::kernels {

/// Component table, one row of `stride` doubles per component:
/// [full flag, mean (d), sqrt(lambda) (d), U (d x d, column-major; full only)].
template <class Real>
struct GmmDraw {
  Real* out;  // n x d
  std::size_t n;
  int d;
  std::uint32_t K;
  const double* cdf;    // K cumulative weights
  const double* table;  // K x stride
  std::size_t stride;
  double total;
  std::uint64_t seed;
  std::uint32_t draw_k, draw_x;
  std::size_t first = 0;  // global index of row 0 (a rank's shard)
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const {
    const std::size_t j = e / n, i = first + e % n;
    const std::uint32_t k = categorical_index(cdf, K, total, uniform_coordinate<double>(seed, draw_k, i, 0));
    const double* c = table + static_cast<std::size_t>(k) * stride;
    const double* mean = c + 1;
    const double* root = c + 1 + d;
    double v = mean[j];
    if (c[0] != 0) {
      const double* U = c + 1 + 2 * d;
      for (int r = 0; r < d; ++r)
        v += U[static_cast<std::size_t>(r) * d + j] * (root[r] * normal_coordinate<double>(seed, draw_x, i, static_cast<std::uint32_t>(r)));
    } else {
      v += root[j] * normal_coordinate<double>(seed, draw_x, i, static_cast<std::uint32_t>(j));
    }
    out[e] = static_cast<Real>(v);
  }
};

}  // namespace flowsampler::kernels
