#pragma once
// Exact Gaussian-mixture fields as softmax ops of the pairwise engine: the
// x points are the (whitened) particles z, the y points are the components
// at time t, y_k = a m_k, and the softmax weights are the responsibilities
// r_k(z) ∝ w_k N(z; a m_k, C_k), C_k = a^2 S_k + b^2 I (DESIGN.md section 5,
// noise whitened to I). With S_k = U_k diag(lambda) U_k^T and c = a^2 lambda
// + b^2, u = U_k^T (z - a m_k), q = u / c:
//   logit_k = log w_k - log det C_k / 2 - u.q / 2    (+ const, added later)
//   g_k = -C_k^-1 (z - a m_k) = -U_k q               (score of component k)
//   E_k = m_k + a S_k C_k^-1 (z - a m_k) = m_k + U_k (a lambda q)
// The softmax mean of the value [g_k, E_k, a1_k, a2_k] (2d + 2 numbers) gives
// the score G, the denoiser D and, with
//   a1_k = a tr(S_k C_k^-1) + g_k.E_k,  a2_k = -tr(C_k^-1) + |g_k|^2,
// the divergences div D = <a1> - G.D and div s = <a2> - |G|^2.
//
// A field that needs only the score (or only the denoiser) sums just g_k (or
// E_k), d numbers: the velocity needs one of them in each of its two forms.
//
// Payload row of component k (time-dependent, built on the host per call):
//   [pre, m (d), 1/c (d), a lambda / c (d), a tr(S C^-1), -tr(C^-1)]
// and, for full covariances, U_k (d x d, column-major) and mu = U_k^T m_k (d).
#include "pairwise/access.hpp"

namespace flowsampler::kernels {

/// Largest d of the full-covariance op (its per-lane scratch is fixed-size).
constexpr int gmm_full_max_dim = 64;

/// Which softmax means an op accumulates: all of [g, E, a1, a2], or g alone,
/// or E alone; or g or E finished into the velocity v = cz z + cm g (score
/// form) or cz z + cm E (denoiser form) in the same pass (the integrators' case).
enum class GmmValues { all, score, denoiser, velocity_score, velocity_denoiser };

template <class Real, bool Full, GmmValues V = GmmValues::all>
struct GmmOp {
  static constexpr bool want_g = V == GmmValues::all || V == GmmValues::score || V == GmmValues::velocity_score;
  static constexpr bool want_e = V == GmmValues::all || V == GmmValues::denoiser || V == GmmValues::velocity_denoiser;
  static constexpr bool want_div = V == GmmValues::all;
  static constexpr bool finishes = V == GmmValues::velocity_score || V == GmmValues::velocity_denoiser;
  double cz = 0, cm = 0;  // the velocity's coefficients (finishing ops only)
  FLOWSAMPLER_HD static constexpr int value_dim(int d) { return want_div ? 2 * d + 2 : d; }
  FLOWSAMPLER_HD static constexpr int payload_dim(int d) { return 3 * d + 3 + (Full ? d * d + d : 0); }
  /// Registers a lane's pair code holds beyond the engine's state
  /// (pairwise/device_dim.hpp): with full covariances, d (d + 2) Reals, the
  /// rotated q and w and the unrolled d x d products over U.
  FLOWSAMPLER_HD static constexpr int lane_extra_registers(int d) {
    return Full ? d * (d + 2) * static_cast<int>(sizeof(Real) / 4) : 0;
  }

  /// v_j = cz z_j + cm M_j, in double (near the path's ends the terms nearly
  /// cancel), from the mean exactly as the unfused epilogue reads it.
  template <int D, class X, class M, class O>
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void finish(const X& x, const M& mean, int d, O& out) const {
    FLOWSAMPLER_UNROLL for (int j = 0; j < dim<D>(d); ++j)
      out(j) = static_cast<Real>(cz * static_cast<double>(x(j)) + cm * static_cast<double>(mean(j)));
  }

  template <int D, class X>
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE Real logit(const X& x, const Real* y, const Real* py, int d) const {
    const int n = dim<D>(d);
    const Real* inv_c = py + 1 + n;
    Real quad = 0;
    if constexpr (Full) {
      const Real* U = py + 3 * n + 3;
      for (int r = 0; r < n; ++r) {
        Real u = 0;
        for (int j = 0; j < n; ++j) u += U[r * n + j] * (x(j) - y[j]);
        quad += u * u * inv_c[r];
      }
    } else {
      FLOWSAMPLER_UNROLL for (int j = 0; j < n; ++j) {
        const Real u = x(j) - y[j];
        quad += u * u * inv_c[j];
      }
    }
    return py[0] - Real(0.5) * quad;
  }

  template <int D, class X, class A>
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void add(const X& x, const Real* y, const Real* py, int d, Real e, A& acc) const {
    const int n = dim<D>(d);
    const Real* m = py + 1;
    const Real* inv_c = py + 1 + n;
    const Real* lam_c = py + 1 + 2 * n;
    Real qm = 0, lq = 0, q2 = 0;
    if constexpr (Full) {
      const Real* U = py + 3 * n + 3;
      const Real* mu = U + n * n;
      constexpr int cap = D > 0 ? D : gmm_full_max_dim;
      Real q[cap], w[cap];
      for (int r = 0; r < n; ++r) {
        Real u = 0;
        for (int j = 0; j < n; ++j) u += U[r * n + j] * (x(j) - y[j]);
        q[r] = u * inv_c[r];
        w[r] = u * lam_c[r];
        qm += q[r] * mu[r];
        lq += w[r] * q[r];
        q2 += q[r] * q[r];
      }
      for (int j = 0; j < n; ++j) {
        Real gj = 0, ej = 0;
        for (int r = 0; r < n; ++r) gj += U[r * n + j] * q[r], ej += U[r * n + j] * w[r];
        if (want_g) acc(j) += e * (-gj);
        if (want_e) acc((want_g ? n : 0) + j) += e * (m[j] + ej);
      }
    } else {
      FLOWSAMPLER_UNROLL for (int j = 0; j < n; ++j) {
        const Real u = x(j) - y[j];
        const Real q = u * inv_c[j], w = u * lam_c[j];
        if (want_g) acc(j) += e * (-q);
        if (want_e) acc((want_g ? n : 0) + j) += e * (m[j] + w);
        if (want_div) {
          qm += q * m[j];
          lq += w * q;
          q2 += q * q;
        }
      }
    }
    if (want_div) {
      acc(2 * n) += e * (py[3 * n + 1] - qm - lq);
      acc(2 * n + 1) += e * (py[3 * n + 2] + q2);
    }
  }
};

}  // namespace flowsampler::kernels
