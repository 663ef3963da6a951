#pragma once
// The elementwise passes of the input-convex network over a batch
// (src/monge/icnn.cpp): the layers' matrix products are GEMMs, these are the
// softplus activations, their slopes and curvatures, and the quadratic skip
// term. Activations are n x W column-major (unit j of point i at j n + i);
// the parameters are the device copy of theta (potential.hpp's layout).
#include <cmath>
#include <cstddef>

#include "hd.hpp"

namespace flowsampler::kernels {

/// softplus(u) = log(1 + e^u), without overflow.
FLOWSAMPLER_HD FLOWSAMPLER_INLINE double softplus(double u) {
  return (u > 0 ? u : 0.0) + std::log1p(std::exp(-std::fabs(u)));
}

/// softplus'(u) = 1 / (1 + e^-u), without overflow.
FLOWSAMPLER_HD FLOWSAMPLER_INLINE double sigmoid(double u) {
  if (u >= 0) return 1 / (1 + std::exp(-u));
  const double e = std::exp(u);
  return e / (1 + e);
}

/// z = softplus(u + b_j) in place of u, and s = softplus'(u + b_j).
struct IcnnActivate {
  double* z;
  double* s;
  const double* b;
  std::size_t n;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const {
    const double u = z[e] + b[e / n];
    z[e] = softplus(u);
    s[e] = sigmoid(u);
  }
};

/// out = a * b, elementwise (the tangent zdot = s t; a slope times an adjoint).
struct Product {
  double* out;
  const double* a;
  const double* b;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const { out[e] = a[e] * b[e]; }
};

/// out = w_j s: the top layer's adjoint w * softplus'(u) (T = grad phi's first factor).
struct ScaleColumns {
  double* out;
  const double* w;
  const double* s;
  std::size_t n;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const { out[e] = w[e / n] * s[e]; }
};

/// The reverse pass of one layer of the tangent network: from the adjoints
/// zb (of z; null: zero) and zdb (of zdot; null: w_j broadcast, the top
/// layer), tb = zdb s and ub = zb s + zdb t s (1 - s) (softplus'' = s (1 - s)).
struct IcnnAdjoint {
  double* ub;
  double* tb;
  const double* zb;
  const double* zdb;
  const double* w;
  const double* s;
  const double* t;
  std::size_t n;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const {
    const double se = s[e], a = zdb ? zdb[e] : w[e / n], z = zb ? zb[e] : 0.0;
    tb[e] = a * se;
    ub[e] = z * se + a * t[e] * se * (1 - se);
  }
};

/// T = q x + v (the gradient of the skip term (q/2)|x|^2 + v . x), n x d.
struct SkipMap {
  double* out;
  const double* x;
  const double* q;
  const double* v;
  std::size_t n;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const { out[e] = q[0] * x[e] + v[e / n]; }
};

/// phi_i += (q/2)|x_i|^2 + v . x_i, one point per index.
struct SkipValue {
  double* phi;
  const double* x;
  const double* q;
  const double* v;
  std::size_t n, d;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i) const {
    double p = phi[i];
    for (std::size_t c = 0; c < d; ++c) {
      const double xc = x[c * n + i];
      p += 0.5 * q[0] * xc * xc + v[c] * xc;
    }
    phi[i] = p;
  }
};

}  // namespace flowsampler::kernels
