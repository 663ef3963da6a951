#pragma once
// The elementwise passes of the Monge training loop (src/monge/train.cpp)
// over a batch: the losses' gradients with respect to the pushed points,
// and resampling a fixed cloud.
#include <cmath>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "random/philox.hpp"

namespace flowsampler::kernels {

/// v /= c.
struct DivideBy {
  double* v;
  double c;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const { v[e] /= c; }
};

/// z -= tau G: the explicit scheme's target z = T_k(x) - tau grad_W F.
struct AnchorStep {
  double* z;
  const double* G;
  double tau;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const { z[e] -= tau * G[e]; }
};

/// out = 2 (T - z) / n: d/dT of mean_i |T_i - z_i|^2 (explicit scheme).
struct ExplicitLossGrad {
  double* out;
  const double* T;
  const double* z;
  double n;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const { out[e] = 2 * (T[e] - z[e]) / n; }
};

/// out = (G + (T - anchor) / tau) / n: d/dT of the implicit scheme's loss.
struct ImplicitLossGrad {
  double* out;
  const double* G;
  const double* T;
  const double* anchor;
  double tau, n;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const {
    out[e] = (G[e] + (T[e] - anchor[e]) / tau) / n;
  }
};

/// out (n x d) = rows of cloud (m x d) picked uniformly with replacement:
/// row i is row ceil(u m) - 1 of the cloud, u in (0, 1] the Philox uniform
/// keyed by (seed, draw, i): the same rows on every backend.
struct ResampleRows {
  double* out;
  const double* cloud;
  std::size_t n, m;
  std::uint64_t seed;
  std::uint32_t draw;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const {
    const std::size_t k = e / n, i = e % n;
    const double u = uniform_coordinate<double>(seed, draw, static_cast<std::uint64_t>(i), 0);
    std::size_t j = static_cast<std::size_t>(std::ceil(u * static_cast<double>(m)));
    j = j == 0 ? 0 : j - 1;
    if (j >= m) j = m - 1;
    out[e] = cloud[k * m + j];
  }
};

}  // namespace flowsampler::kernels
