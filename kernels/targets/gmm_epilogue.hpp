#pragma once
// The per-particle finish of the exact Gaussian-mixture fields (DESIGN.md
// section 5), from the softmax means of kernels/targets/gmm_ops.hpp: the
// score G, the denoiser D, the velocity in the form regular where it is
// evaluated, the divergence (div D = <a1> - G.D, div s = <a2> - |G|^2, the dot
// products in double) and log p. All in whitened coordinates.
#include <cstddef>

#include "hd.hpp"

namespace flowsampler::kernels {

template <class Real>
struct GmmEpilogue {
  const Real* A;    // softmax means, n x p: [G | D | a1 | a2], or G alone, or D alone
  const Real* lse;  // n (log p only)
  const Real* w;    // the whitened particles, n x d
  std::size_t n;
  int d;
  int g_col, d_col;  // first column of G and of D in A (-1: not accumulated)
  bool denoiser_form;
  double cz, cm;  // v = cz w + cm M, M = D (denoiser form) or G (score form), in double
  double a, b, da, db, b_db, log_norm;
  Real *logp, *div, *score, *den, *vel;  // null: not requested

  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i) const {
    double gd = 0, gg = 0;
    for (int j = 0; j < d; ++j) {
      const std::size_t o = static_cast<std::size_t>(j) * n + i;
      const Real G = g_col >= 0 ? A[static_cast<std::size_t>(g_col + j) * n + i] : Real(0);
      const Real D = d_col >= 0 ? A[static_cast<std::size_t>(d_col + j) * n + i] : Real(0);
      if (div) {
        gd += static_cast<double>(G) * static_cast<double>(D);
        gg += static_cast<double>(G) * static_cast<double>(G);
      }
      if (score) score[o] = G;
      if (den) den[o] = D;
      if (vel) vel[o] = static_cast<Real>(cz * static_cast<double>(w[o]) + cm * static_cast<double>(denoiser_form ? D : G));
    }
    if (logp) logp[i] = static_cast<Real>(static_cast<double>(lse[i]) - log_norm);
    if (div) {
      const double dd = d;
      const double divD = static_cast<double>(A[static_cast<std::size_t>(2 * d) * n + i]) - gd;
      const double divs = static_cast<double>(A[static_cast<std::size_t>(2 * d + 1) * n + i]) - gg;
      div[i] = static_cast<Real>(denoiser_form ? da * divD + db * (dd - a * divD) / b
                                               : (da / a) * dd + ((da / a) * b * b - b_db) * divs);
    }
  }
};

}  // namespace flowsampler::kernels
