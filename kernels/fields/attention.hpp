#pragma once
// The augmented points of the attention field (src/fields/attention.cpp):
// per token x_i, a' = [Q x_i, 0] and b' = [K x_i, V x_i] with the log-weight
// (|K x_i|^2 + |V x_i|^2) / 2, products in double.
#include <cstddef>

#include "hd.hpp"

namespace flowsampler::kernels {

/// x: n x d tokens; mats: Q (p x d), K (p x d), V (d x d), row-major, one
/// after the other (device memory, doubles). Writes a, b (n x (p + d)) and
/// lw (n), over i < n.
template <class Real>
struct AttentionAugment {
  const Real* x;
  std::size_t n, d, p;
  const double* mats;
  Real *a, *b, *lw;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i) const {
    const double *Q = mats, *K = mats + p * d, *V = mats + 2 * p * d;
    double l = 0;
    for (std::size_t r = 0; r < p; ++r) {
      double qa = 0, kb = 0;
      for (std::size_t c = 0; c < d; ++c) {
        qa += Q[r * d + c] * static_cast<double>(x[c * n + i]);
        kb += K[r * d + c] * static_cast<double>(x[c * n + i]);
      }
      a[r * n + i] = static_cast<Real>(qa);
      b[r * n + i] = static_cast<Real>(kb);
      l += 0.5 * kb * kb;
    }
    for (std::size_t r = 0; r < d; ++r) {
      double vc = 0;
      for (std::size_t c = 0; c < d; ++c) vc += V[r * d + c] * static_cast<double>(x[c * n + i]);
      a[(p + r) * n + i] = Real(0);
      b[(p + r) * n + i] = static_cast<Real>(vc);
      l += 0.5 * vc * vc;
    }
    lw[i] = static_cast<Real>(l);
  }
};

}  // namespace flowsampler::kernels
