#pragma once
// The 1-D W2^2 between sorted projections (metrics/sliced_w2.cpp) as a
// reduction: `width` directions at once, one index per atom of the larger
// sample, O(n + m) in all.
#include <cstddef>
#include <cstdint>

#include "hd.hpp"

namespace flowsampler::kernels {

/// acc[c] += the contribution of atom i of u to the unnormalized 1-D W2^2
/// between the sorted columns c0 + c of u (nu values per column) and v (nv
/// values per column), nu >= nv. With nu == nv: (u_i - v_i)^2 (divide the sum
/// by n). Otherwise quantiles run over (0, 1) in units of 1 / (nu nv): atom i
/// of u covers [i nv, (i + 1) nv), atom j of v covers [j nu, (j + 1) nu), so u_i
/// meets the atoms j from floor(i nv / nu) to floor(((i + 1) nv - 1) / nu) (at
/// most two, as nv <= nu), each over its overlap length (divide by nu nv).
template <class Real>
struct SortedW2 {
  static constexpr bool max = false;
  const Real* u;
  const Real* v;
  std::size_t nu, nv, c0;
  int width;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i, double* acc) const {
    if (nu == nv) {
      for (int c = 0; c < width; ++c) {
        const std::size_t col = c0 + static_cast<std::size_t>(c);
        const double t = static_cast<double>(u[col * nu + i]) - static_cast<double>(v[col * nv + i]);
        acc[c] += t * t;
      }
      return;
    }
    const std::uint64_t N = nu, M = nv, lo = i * M, hi = (i + 1) * M;
    const std::uint64_t j0 = lo / N, j1 = (hi - 1) / N;
    for (int c = 0; c < width; ++c) {
      const std::size_t col = c0 + static_cast<std::size_t>(c);
      const double ui = static_cast<double>(u[col * nu + i]);
      double s = 0;
      for (std::uint64_t j = j0; j <= j1; ++j) {
        const std::uint64_t a = lo > j * N ? lo : j * N, b = hi < (j + 1) * N ? hi : (j + 1) * N;
        const double t = ui - static_cast<double>(v[col * nv + j]);
        s += static_cast<double>(b - a) * t * t;
      }
      acc[c] += s;
    }
  }
};

}  // namespace flowsampler::kernels
