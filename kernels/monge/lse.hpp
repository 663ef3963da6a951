#pragma once
// The per-point softmax of the log-sum-exp potential (src/monge/lse.cpp) over
// its K affine pieces: the logits a_k . x_i come from a GEMM (n x K, column-
// major), these passes finish them one point at a time.
#include <cmath>
#include <cstddef>

#include "hd.hpp"

namespace flowsampler::kernels {

/// Row i of p (n x K): logits (p_ik + b_k) / s replaced by their softmax; with
/// value non-null, value_i = s log sum_k exp((p_ik + b_k) / s).
struct LseSoftmax {
  double* p;
  double* value;
  const double* b;
  double s;
  std::size_t n, K;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i) const {
    double mx = -INFINITY;
    for (std::size_t k = 0; k < K; ++k) {
      const double u = (p[k * n + i] + b[k]) / s;
      p[k * n + i] = u;
      mx = u > mx ? u : mx;
    }
    double sum = 0;
    for (std::size_t k = 0; k < K; ++k) sum += (p[k * n + i] = std::exp(p[k * n + i] - mx));
    for (std::size_t k = 0; k < K; ++k) p[k * n + i] /= sum;
    if (value) value[i] = s * (mx + std::log(sum));
  }
};

/// Row i: ga_ik = g_i . a_k (in place) becomes r_ik = p_ik (ga_ik - g_i . T_i) / s,
/// the logit adjoint of g . T with T_i = sum_k p_ik a_k.
struct LseAdjoint {
  double* ga;
  const double* p;
  double s;
  std::size_t n, K;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i) const {
    double gT = 0;
    for (std::size_t k = 0; k < K; ++k) gT += p[k * n + i] * ga[k * n + i];
    for (std::size_t k = 0; k < K; ++k) ga[k * n + i] = p[k * n + i] * (ga[k * n + i] - gT) / s;
  }
};

}  // namespace flowsampler::kernels
