#pragma once
// y = M x for every particle of a column-major cloud, M a small d x d
// column-major matrix in device memory: the whitening W^-1 z of the exact
// fields and its inverse map back. Terms with M(j, r) = 0 are skipped, so a
// diagonal M costs one multiply per coordinate.
#include <cstddef>

#include "hd.hpp"

namespace flowsampler::kernels {

template <class Real>
struct ApplyMatrix {
  Real* out;
  const Real* in;
  const double* M;  // d x d, column-major: M(j, r) at r * d + j
  std::size_t n;
  int d;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const {
    const std::size_t j = e / n, i = e % n;
    Real y = 0;
    for (int r = 0; r < d; ++r) {
      const double m = M[static_cast<std::size_t>(r) * d + j];
      if (m != 0) y += static_cast<Real>(m * static_cast<double>(in[static_cast<std::size_t>(r) * n + i]));
    }
    out[e] = y;
  }
};

}  // namespace flowsampler::kernels
