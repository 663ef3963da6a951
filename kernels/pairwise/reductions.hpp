#pragma once
// The merge and finalize of each reduction's per-lane state, so that a lane's
// reduction over y rows [0, M) can be cut into pieces [j0, j1), [j1, j2), ...
// reduced apart (another thread, rank or device) and joined. Merges are
// associative; callers join the pieces in one fixed order (left to right), so
// a given cut gives the same bits every time, and different cuts agree to
// rounding. The states, per lane:
//   sum:     carry(k), partial sums in double (value_dim entries).
//   softmax: running max m, s = sum exp(l - m) in double, and the weighted
//            carry(k) = sum exp(l - m) value_k in double; empty: m = -inf, s = 0.
//   k-min:   the k smallest (distance, index) ascending, ties by lower index;
//            empty slots +inf and index 0xffffffff.
// States are read and written through accessors (Lane, Strided), as in tiles.hpp.
#include <cmath>
#include <cstdint>
#include <limits>

#include "pairwise/access.hpp"

namespace flowsampler::kernels {

template <class CA>
FLOWSAMPLER_HD FLOWSAMPLER_INLINE void sum_init(int p, CA& carry) {
  for (int k = 0; k < p; ++k) carry(k) = 0;
}

template <class CA, class CB>
FLOWSAMPLER_HD FLOWSAMPLER_INLINE void sum_merge(int p, CA& a, const CB& b) {
  for (int k = 0; k < p; ++k) a(k) += b(k);
}

template <class Real, class CA, class OA>
FLOWSAMPLER_HD FLOWSAMPLER_INLINE void sum_finish(int p, const CA& carry, OA& out) {
  for (int k = 0; k < p; ++k) out(k) = static_cast<Real>(carry(k));
}

template <class Real, class CA>
FLOWSAMPLER_HD FLOWSAMPLER_INLINE void softmax_init(int p, Real& m, double& s, CA& carry) {
  m = -std::numeric_limits<Real>::infinity();
  s = 0;
  for (int k = 0; k < p; ++k) carry(k) = 0;
}

/// Joins state b into a: both are rescaled to the larger max. The factors are
/// taken in double with the exact exp: a merge happens once per piece, not
/// per pair. Two empty states stay empty (the shift is 0, not -inf - -inf).
template <class Real, class CA, class CB>
FLOWSAMPLER_HD FLOWSAMPLER_INLINE void softmax_merge(int p, Real& ma, double& sa, CA& ca, Real mb, double sb, const CB& cb) {
  const Real mnew = mb > ma ? mb : ma;
  const double shift = mnew == -std::numeric_limits<Real>::infinity() ? 0.0 : static_cast<double>(mnew);
  const double fa = std::exp(static_cast<double>(ma) - shift), fb = std::exp(static_cast<double>(mb) - shift);
  sa = sa * fa + sb * fb;
  for (int k = 0; k < p; ++k) ca(k) = ca(k) * fa + cb(k) * fb;
  ma = mnew;
}

template <class Real, class BA, class IA>
FLOWSAMPLER_HD FLOWSAMPLER_INLINE void kmin_init(int k, BA& best, IA& idx) {
  for (int t = 0; t < k; ++t) best(t) = std::numeric_limits<Real>::infinity(), idx(t) = 0xffffffffu;
}

/// Joins list b into list a, keeping the k smallest by (distance, index): the
/// index decides ties, so the result does not depend on which piece held
/// which rows nor on the order of the merge. Insertion, k^2 compares: k is a
/// few neighbours, and a merge runs once per piece.
template <class Real, class BA, class IA, class BB, class IB>
FLOWSAMPLER_HD FLOWSAMPLER_INLINE void kmin_merge(int k, BA& best, IA& idx, const BB& bb, const IB& ib) {
  for (int u = 0; u < k; ++u) {
    Real v = bb(u);
    std::uint32_t id = ib(u);
    if (!(v <= best(k - 1))) break;  // b is ascending: nothing further enters (also +inf slots)
    for (int t = 0; t < k; ++t) {
      const Real b = best(t);
      const std::uint32_t bi = idx(t);
      const bool less = v < b || (v == b && id < bi);
      best(t) = less ? v : b;
      idx(t) = less ? id : bi;
      v = less ? b : v;
      id = less ? bi : id;
    }
  }
}

template <class BA, class IA, class OB, class OI>
FLOWSAMPLER_HD FLOWSAMPLER_INLINE void kmin_finish(int k, const BA& best, const IA& idx, OB& dist, OI& oidx) {
  for (int t = 0; t < k; ++t) dist(t) = best(t), oidx(t) = idx(t);
}

}  // namespace flowsampler::kernels
