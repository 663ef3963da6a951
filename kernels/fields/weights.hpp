#pragma once
// Elementwise weight maps of the drift fields: exp of log-weights (MMD with
// weighted data) and of negated log-normalizers (the blob field's
// 1 / (k_h * mu)(x_j)), computed in double as the host code did.
#include <cmath>
#include <cstddef>

#include "hd.hpp"

namespace flowsampler::kernels {

/// out[e] = exp(sign * in[e]), evaluated in double.
template <class Real>
struct ExpScaled {
  Real* out;
  const Real* in;
  double sign;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const {
    out[e] = static_cast<Real>(std::exp(sign * static_cast<double>(in[e])));
  }
};

}  // namespace flowsampler::kernels
