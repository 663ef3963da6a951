#pragma once
// Row gathers of column-major clouds: the random data batches of the drift
// fields (indices drawn on the host, batch-sized) and the evenly spaced
// sample behind the median-distance bandwidths, both on the device.
#include <cstddef>
#include <cstdint>

#include "hd.hpp"

namespace flowsampler::kernels {

/// out (rows x d) = in rows idx[0..rows) (in: n_in x d), plus `shift` (added
/// in double: the batch's log-weight correction; 0 for coordinates), over
/// e < rows * d.
template <class Real>
struct GatherRows {
  Real* out;
  const Real* in;
  const std::uint64_t* idx;
  std::size_t n_in, rows;
  double shift;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const {
    const std::size_t c = e / rows, j = e % rows;
    out[e] = static_cast<Real>(static_cast<double>(in[c * n_in + static_cast<std::size_t>(idx[j])]) + shift);
  }
};

/// out (k x d) = rows a * n / k, a < k, of in (n x d), over e < k * d.
template <class Real>
struct StridedRows {
  Real* out;
  const Real* in;
  std::size_t n, k;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const {
    const std::size_t c = e / k, a = e % k;
    out[e] = in[c * n + a * n / k];
  }
};

}  // namespace flowsampler::kernels
