#pragma once
// The per-point softmax of the log-sum-exp potential (src/monge/lse.cpp) over
// its K affine pieces: the logits a_k . x_i come from a GEMM as a K x n table
// (column i: point i's K values, contiguous), these passes finish them one
// point at a time.
#include <cmath>
#include <cstddef>

#include "hd.hpp"

namespace flowsampler::kernels {

/// Column i of p (K x n): logits (p_ki + b_k) / s replaced by their softmax;
/// with value non-null, value_i = s log sum_k exp((p_ki + b_k) / s).
struct LseSoftmax {
  double* p;
  double* value;
  const double* b;
  double s;
  std::size_t K;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i) const {
    double* q = p + i * K;
    double mx = -INFINITY;
    for (std::size_t k = 0; k < K; ++k) {
      const double u = (q[k] + b[k]) / s;
      q[k] = u;
      mx = u > mx ? u : mx;
    }
    double sum = 0;
    for (std::size_t k = 0; k < K; ++k) sum += (q[k] = std::exp(q[k] - mx));
    for (std::size_t k = 0; k < K; ++k) q[k] /= sum;
    if (value) value[i] = s * (mx + std::log(sum));
  }
};

/// Column i (K x n tables): ga_ki = g_i . a_k (in place) becomes
/// r_ki = p_ki (ga_ki - g_i . T_i) / s, the logit adjoint of g . T with
/// T_i = sum_k p_ki a_k.
struct LseAdjoint {
  double* ga;
  const double* p;
  double s;
  std::size_t K;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i) const {
    double* r = ga + i * K;
    const double* q = p + i * K;
    double gT = 0;
    for (std::size_t k = 0; k < K; ++k) gT += q[k] * r[k];
    for (std::size_t k = 0; k < K; ++k) r[k] = q[k] * (r[k] - gT) / s;
  }
};

}  // namespace flowsampler::kernels
