#pragma once
// Per-particle passes of the JKO diagnostics and of the JKO flow model
// (src/jko/flow.cpp, model.cpp) over column-major n x d clouds: unit
// nudges of the rows and distances between paired rows.
#include <cmath>
#include <cstddef>

#include "cloud/row_sqdist.hpp"
#include "hd.hpp"

namespace flowsampler::kernels {

/// Row i of out = row i of x moved by fd along the unit vector u_i / |u_i|.
template <class Real>
struct NudgeRows {
  Real* out;
  const Real* x;
  const double* u;
  std::size_t n, d;
  double fd;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i) const {
    double nn = 0;
    for (std::size_t c = 0; c < d; ++c) nn += u[c * n + i] * u[c * n + i];
    for (std::size_t c = 0; c < d; ++c)
      out[c * n + i] = static_cast<Real>(static_cast<double>(x[c * n + i]) + fd * u[c * n + i] / std::sqrt(nn));
  }
};

/// max_i |a_i - b_i| / |ta_i - tb_i| over the rows whose images differ: the
/// Lipschitz constant of the inverse of a map t along the pairs (a_i, b_i).
/// NaN ratios are skipped.
template <class Real>
struct InverseLipschitz {
  static constexpr bool max = true;
  const Real* a;
  const Real* b;
  const Real* ta;
  const Real* tb;
  std::size_t n, d;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i, double* acc) const {
    const double img = std::sqrt(row_sqdist(ta, tb, n, d, i));
    if (!(img > 0)) return;
    const double r = std::sqrt(row_sqdist(a, b, n, d, i)) / img;
    if (r > acc[0]) acc[0] = r;
  }
};

}  // namespace flowsampler::kernels
