#pragma once
// The elementwise passes of the particle JKO step's fixed-point iteration
// (src/jko/step.cpp) over the N x d iterate, held in double on the device:
// its rounding to the cloud's precision, the residual and its norm, the
// Anderson history and the mixed next iterate. Element e runs over all N x d
// coordinates (column-major, as the clouds).
#include <cstddef>

#include "hd.hpp"

namespace flowsampler::kernels {

/// True for a finite value (no <cmath> in kernel bodies: inf - inf and NaN - NaN are NaN).
FLOWSAMPLER_HD FLOWSAMPLER_INLINE bool finite_value(double v) { return v - v == v - v; }

/// x0[e] = x[e] in double; counts the non-finite coordinates (a reduction).
template <class Real>
struct WidenCountNonFinite {
  static constexpr bool max = false;
  double* x0;
  const Real* x;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e, double* acc) const {
    const double v = static_cast<double>(x[e]);
    x0[e] = v;
    if (!finite_value(v)) acc[0] += 1;
  }
};

/// The iterate as the cloud holds it: X[e] rounded to Real, kept in both.
template <class Real>
struct RoundIterate {
  double* X;
  Real* cloud;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const {
    const Real v = static_cast<Real>(X[e]);
    X[e] = static_cast<double>(v);
    cloud[e] = v;
  }
};

/// The residual r = (X - X_k) / h + G(X) of the backward-Euler condition:
/// writes the fixed-point step f = -h r and folds |r|^2 (a reduction whose
/// functor also writes f: every index is visited exactly once).
template <class Real>
struct StepResidual {
  static constexpr bool max = false;
  double* f;
  const double* X;
  const double* x0;
  const Real* g;
  double h;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e, double* acc) const {
    const double r = (X[e] - x0[e]) / h + static_cast<double>(g[e]);
    f[e] = -h * r;
    acc[0] += r * r;
  }
};

/// |r|^2 of a candidate step x -> next: r = (next - x) / h + g.
template <class Real>
struct CandidateResidual {
  static constexpr bool max = false;
  const Real* x;
  const Real* next;
  const Real* g;
  double h;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e, double* acc) const {
    const double r = (static_cast<double>(next[e]) - static_cast<double>(x[e])) / h + static_cast<double>(g[e]);
    acc[0] += r * r;
  }
};

/// Most Anderson history entries (StepOptions::anderson).
constexpr int anderson_max_memory = 32;

/// The mixed iterate next = X + w f - sum_i gamma_i (dX_i + w dF_i): history
/// entry i is column slot[i] of the len x memory matrices dX and dF (a ring
/// buffer), gamma the small solve's coefficients (by value: no upload).
struct AndersonMix {
  double* next;
  const double* X;
  const double* f;
  double w;
  const double* dX;
  const double* dF;
  std::size_t len;
  int m;
  int slot[anderson_max_memory];
  double gamma[anderson_max_memory];
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const {
    double v = X[e] + w * f[e];
    for (int i = 0; i < m; ++i) {
      const std::size_t c = static_cast<std::size_t>(slot[i]) * len + e;
      v -= gamma[i] * (dX[c] + w * dF[c]);
    }
    next[e] = v;
  }
};

/// A history entry: dX = X - Xprev, dF = f - fprev (one column of each matrix).
struct HistoryPush {
  double* dX;
  double* dF;
  const double* X;
  const double* Xprev;
  const double* f;
  const double* fprev;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const {
    dX[e] = X[e] - Xprev[e];
    dF[e] = f[e] - fprev[e];
  }
};

/// out[e] = y[e] + c g[e] in double, rounded to Real (a step along a gradient).
template <class Real>
struct AddScaled {
  Real* out;
  const Real* y;
  const Real* g;
  double c;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const {
    out[e] = static_cast<Real>(static_cast<double>(y[e]) + c * static_cast<double>(g[e]));
  }
};

/// acc[e] = (first ? 0 : acc[e]) + c v[e]: the objective's terms summed in double.
template <class Real>
struct AccumulateScaled {
  double* acc;
  const Real* v;
  double c;
  bool first;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const {
    acc[e] = (first ? 0.0 : acc[e]) + c * static_cast<double>(v[e]);
  }
};

}  // namespace flowsampler::kernels
