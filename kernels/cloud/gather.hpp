#pragma once
// Gathers of rows of a column-major cloud into a smaller one.
#include <cstddef>
#include <cstdint>

#include "hd.hpp"

namespace flowsampler::kernels {

/// out (k x d) = rows floor(i n / k), i < k, of in (n x d): an evenly strided subsample.
template <class Real>
struct StridedRows {
  Real* out;
  const Real* in;
  std::size_t n, k;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const {
    const std::size_t c = e / k, i = e % k;
    const std::size_t row = i * (n / k) + i * (n % k) / k;  // floor(i n / k) without overflowing i n
    out[e] = in[c * n + row];
  }
};

/// out (rows x d) = rows idx[0..rows) of in (n_in x d), plus `shift` (added in
/// double: a random batch's log-weight correction; 0 for coordinates).
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

}  // namespace flowsampler::kernels
