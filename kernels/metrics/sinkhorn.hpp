#pragma once
// Per-point steps of log-domain Sinkhorn (metrics/sinkhorn.cpp) around the
// pairwise soft-min: potentials are double columns, the soft-min's inputs and
// outputs (log-weights, lse, mean cost) are Real columns of the cloud's type.
#include <cmath>
#include <cstddef>

#include "hd.hpp"
#include "reduce/fold.hpp"

namespace flowsampler::kernels {

/// T_i = -eps lse_i: the c-transform's value from the soft-min's log-normalizer.
template <class Real>
FLOWSAMPLER_HD FLOWSAMPLER_INLINE double c_transform_value(double eps, Real lse) {
  return -eps * static_cast<double>(lse);
}

/// The soft-min's log-weights over the points of one side from that side's
/// potential h: out_j = log_w + h_j / eps (log_w = log(1/m): uniform weights).
template <class Real>
struct SinkhornLogWeights {
  Real* out;
  const double* h;
  double log_w, eps;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t j) const { out[j] = static_cast<Real>(log_w + h[j] / eps); }
};

/// The relaxed update toward the c-transform T_i = -eps lse_i:
/// p_i <- (1 - w) p_i + w T_i (w = 1: plain Sinkhorn; w = 1/2: the averaged
/// symmetric update; w in (1, 2): over-relaxation).
template <class Real>
struct SinkhornRelax {
  double* p;
  const Real* lse;
  double eps, w;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i) const {
    p[i] = (1 - w) * p[i] + w * c_transform_value(eps, lse[i]);
  }
};

/// Sum over i of |exp((p_i - T_i) / eps) - 1|: n times the L1 marginal error
/// of the plan of potentials p whose fresh c-transform is T = -eps lse (row i
/// of the plan has mass a_i exp((p_i - T_i) / eps)).
template <class Real>
struct SinkhornMarginalError {
  static constexpr bool max = false;
  const double* p;
  const Real* lse;
  double eps;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i, double* acc) const {
    acc[0] += std::fabs(std::expm1((p[i] - c_transform_value(eps, lse[i])) / eps));
  }
};

/// <P, C> = sum_i a_i exp((f_i - T_i) / eps) * (the softmax-weighted mean cost of row i), a_i = 1/n.
template <class Real>
struct SinkhornPlanCost {
  static constexpr bool max = false;
  const double* f;
  const Real* lse;
  const Real* mean_cost;
  double eps, n;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i, double* acc) const {
    acc[0] += std::exp((f[i] - c_transform_value(eps, lse[i])) / eps) * static_cast<double>(mean_cost[i]) / n;
  }
};

/// The bounding box of `width` <= 16 columns from col0 as maxima:
/// acc[2k] = max_i x_ik, acc[2k + 1] = max_i -x_ik (a NaN coordinate wins).
template <class Real>
struct BoundingBox {
  static constexpr bool max = true;
  const Real* x;
  std::size_t n, col0;
  int width;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i, double* acc) const {
    for (int k = 0; k < width; ++k) {
      const double v = static_cast<double>(x[(col0 + static_cast<std::size_t>(k)) * n + i]);
      acc[2 * k] = fold_merge(acc[2 * k], v, true);
      acc[2 * k + 1] = fold_merge(acc[2 * k + 1], -v, true);
    }
  }
};

/// out = x minus a per-column shift (d doubles), computed in double, stored as Real.
template <class Real>
struct ShiftColumns {
  Real* out;
  const Real* x;
  std::size_t n;
  const double* shift;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const {
    out[e] = static_cast<Real>(static_cast<double>(x[e]) - shift[e / n]);
  }
};

}  // namespace flowsampler::kernels
