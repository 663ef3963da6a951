#pragma once
// The integrators' kernels beyond the stage combinations (kernels/cloud/lincomb.hpp):
// the log-density update from the stages' divergences, dopri5's error norm
// and Hairer's starting-step sizes, and the Langevin corrector's mean row norms.
#include <cmath>
#include <cstddef>

#include "reduce/fold.hpp"

namespace flowsampler::kernels {

/// d/dt log p = -div v: ll[i] += scale * sum_j c_j (-div_j[i]), in double.
template <class Real, int M>
struct AddDivergences {
  double* ll;
  const Real* div[M];
  double c[M];
  double scale;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i) const {
    double inc = 0;
    for (int j = 0; j < M; ++j) inc += c[j] * -static_cast<double>(div[j][i]);
    ll[i] += scale * inc;
  }
};

/// dopri5's local error e = h sum_j E_j k_j over every coordinate, scaled by
/// sc = atol + rtol max(|z0|, |z1|): the sum of (e / sc)^2 (RMS norm) or the
/// largest |e / sc| (max norm; a NaN wins, so a non-finite stage rejects the step).
template <class Real, bool Max>
struct DopriError {
  static constexpr bool max = Max;
  const Real* z0;
  const Real* z1;
  const Real* k[7];
  double E[7];
  double h, atol, rtol;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e, double* acc) const {
    double err = 0;
    for (int j = 0; j < 7; ++j) err += E[j] * static_cast<double>(k[j][e]);
    const double a = std::fabs(static_cast<double>(z0[e])), b = std::fabs(static_cast<double>(z1[e]));
    const double r = h * err / (atol + rtol * (a > b ? a : b));
    if (Max)
      acc[0] = fold_merge(acc[0], std::fabs(r), true);
    else
      acc[0] += r * r;
  }
};

/// sum over coordinates of ((x - y) / (atol + rtol |z|))^2 (y may be null):
/// the scaled sizes of Hairer's starting-step rule.
template <class Real>
struct ScaledSquares {
  static constexpr bool max = false;
  const Real* x;
  const Real* y;
  const Real* z;
  double atol, rtol;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e, double* acc) const {
    const double v = static_cast<double>(x[e]) - (y ? static_cast<double>(y[e]) : 0.0);
    const double q = v / (atol + rtol * std::fabs(static_cast<double>(z[e])));
    acc[0] += q * q;
  }
};

/// acc[0] += |a_i|, acc[1] += |b_i| (Euclidean norms of row i of two n x d clouds).
template <class Real>
struct RowNorms2 {
  static constexpr bool max = false;
  const Real* a;
  const Real* b;
  std::size_t n;
  int d;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i, double* acc) const {
    double sa = 0, sb = 0;
    for (int k = 0; k < d; ++k) {
      const double x = a[static_cast<std::size_t>(k) * n + i], y = b[static_cast<std::size_t>(k) * n + i];
      sa += x * x, sb += y * y;
    }
    acc[0] += std::sqrt(sa), acc[1] += std::sqrt(sb);
  }
};

}  // namespace flowsampler::kernels
