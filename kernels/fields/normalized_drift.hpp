#pragma once
// The per-point arithmetic of the normalized drifting field
// (src/fields/drifting_normalized.cpp) as device kernels: the column
// log-weights of one temperature, the squared norms that decide its RMS
// normalization, and the normalized field accumulated in double.
#include <cmath>
#include <cstddef>
#include <limits>

#include "hd.hpp"

namespace flowsampler::kernels {

/// out[i] = -lse[i] / 2 (the column weight exp(-c_j / 2) in the log domain),
/// -inf where the log-normalizer is not finite (a point alone: no targets).
template <class Real>
struct HalfNegLse {
  Real* out;
  const Real* lse;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i) const {
    const double l = static_cast<double>(lse[i]);
    out[i] = std::isfinite(l) ? static_cast<Real>(-0.5 * l) : -std::numeric_limits<Real>::infinity();
  }
};

/// One temperature's field V_i = fp_i mp_i - fn_i mn_i from the engine's
/// outputs: lp, lx the row log-normalizers over the data and over the cloud,
/// lpos, lneg the log-normalizers of the column-weighted mean shifts mp
/// (toward the data) and mn (toward the cloud), all n-long columns (mp, mn
/// n x d). Evaluated in double.
template <class Real>
struct NormalizedDriftTerms {
  const Real *lp, *lx, *lpos, *lneg, *mp, *mn;
  std::size_t n;

  /// The attraction and repulsion factors of row i.
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void factors(std::size_t i, double& fp, double& fn) const {
    const double a = static_cast<double>(lp[i]), b = static_cast<double>(lx[i]), mx = a > b ? a : b;
    const double r = std::log(std::exp(a - mx) + std::exp(b - mx)) + mx;  // row normalizer over all targets
    const double sn = std::exp(static_cast<double>(lneg[i]));  // row sum of exp(L - c/2) over the cloud
    const double lq = static_cast<double>(lpos[i]);
    fp = std::exp(lq - r) * sn;
    fn = std::exp(lq + static_cast<double>(lneg[i]) - r);
  }
  /// Coordinate c of row i: attraction a and repulsion b (V = a - b).
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void parts(std::size_t i, std::size_t c, double fp, double fn, double& a,
                                               double& b) const {
    a = std::isfinite(fp) ? fp * static_cast<double>(mp[c * n + i]) : 0.0;
    b = std::isfinite(fn) ? fn * static_cast<double>(mn[c * n + i]) : 0.0;
  }
};

/// acc[0] += |V_i|^2, acc[1] += |a_i|^2 + |b_i|^2 (the parts' size, against
/// which a cancelling V is rounding noise), over rows i.
template <class Real>
struct NormalizedDriftNorms {
  static constexpr bool max = false;
  NormalizedDriftTerms<Real> t;
  std::size_t d;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i, double* acc) const {
    double fp, fn;
    t.factors(i, fp, fn);
    for (std::size_t c = 0; c < d; ++c) {
      double a, b;
      t.parts(i, c, fp, fn, a, b);
      acc[0] += (a - b) * (a - b);
      acc[1] += a * a + b * b;
    }
  }
};

/// out[e] += V[e] / rms over e < n * d (out: the n x d double accumulator).
template <class Real>
struct NormalizedDriftAccumulate {
  NormalizedDriftTerms<Real> t;
  double* out;
  double rms;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const {
    const std::size_t i = e % t.n, c = e / t.n;
    double fp, fn, a, b;
    t.factors(i, fp, fn);
    t.parts(i, c, fp, fn, a, b);
    out[e] += (a - b) / rms;
  }
};

}  // namespace flowsampler::kernels
