#pragma once
// What one lane (one x_i) does with one tile of y rows, for each reduction.
// Shared verbatim by the CPU backend (inside `#pragma omp simd` over i) and the
// CUDA kernel body (one thread per i). Tiles are row-major: row j of the tile
// is yt + j * dim<D>(d), its payload pt + j * Op::payload_dim(dim<D>(d)).
//
// Precision: within a tile, sums run in Real; across tiles they are carried in
// double, so a float sum of M terms has the error of a tile-length float sum
// plus a double sum, not of an M-term float sum.
#include <cmath>
#include <limits>
#include <type_traits>

#include "math/fast_exp.hpp"
#include "pairwise/access.hpp"

namespace flowsampler::kernels {

/// Adds sum_j value(x, y_j) over the tile into `tacc` (value_dim entries).
template <int D, class Op, class Real, class X, class TA>
FLOWSAMPLER_HD FLOWSAMPLER_INLINE void sum_tile(const Op& op, const X& x, const Real* yt, const Real* pt, int len, int d,
                                    TA& tacc) {
  const int ds = dim<D>(d);
  for (int j = 0; j < len; ++j) op.template add<D>(x, yt + j * ds, pt + j * Op::payload_dim(ds), d, tacc);
}

/// Online-softmax state of one lane: running max m, normalizer s = sum exp(l - m),
/// and carry(k) = sum exp(l - m) value_k.
///
/// A tile is folded in two passes, each a single loop over the tile (so the
/// CPU can vectorize over lanes): softmax_tile_max finds the tile's largest
/// logit without any exp, then softmax_tile_update takes one exp per pair
/// relative to the new max and rescales the carried state once. Rows whose
/// logits are all -inf so far keep m = -inf, s = 0. +inf or NaN logits make
/// the row's outputs NaN. Tile row `skip` (-1: none) is left out: the lane's
/// own point when x and y are the same set.
template <int D, class Op, class Real, class X>
FLOWSAMPLER_HD FLOWSAMPLER_INLINE Real softmax_tile_max(const Op& op, const X& x, const Real* yt, const Real* pt, int len,
                                            int d, int skip = -1) {
  const int ds = dim<D>(d);
  Real mt = -std::numeric_limits<Real>::infinity();
  for (int j = 0; j < len; ++j) {
    if (j == skip) continue;
    const Real l = op.template logit<D>(x, yt + j * ds, pt + j * Op::payload_dim(ds), d);
    mt = l > mt ? l : mt;
  }
  return mt;
}

/// The three steps of softmax_tile_update, for backends that interleave lanes
/// differently (the CPU sweeps all lanes per y row). begin: the new max and
/// the shift that every exp of the tile is taken against; exp(l - shift) is 0
/// for l = -inf and exp(m - shift) is 0 for m = -inf, also when every logit so
/// far is -inf (then shift = 0 and nothing is added).
template <class Real>
FLOWSAMPLER_HD FLOWSAMPLER_INLINE Real softmax_shift(Real mt, Real m, Real& mnew) {
  mnew = mt > m ? mt : m;
  return mnew == -std::numeric_limits<Real>::infinity() ? Real(0) : mnew;
}

/// One pair: adds e = exp(logit - shift) to the tile normalizer ts and e * value to tacc.
template <int D, class Op, class Real, class X, class TA>
FLOWSAMPLER_HD FLOWSAMPLER_INLINE void softmax_pair(const Op& op, const X& x, const Real* y, const Real* py, int d, Real shift,
                                        Real& ts, TA& tacc) {
  const Real e = fast_exp_shifted(op.template logit<D>(x, y, py, d) - shift);
  ts += e;
  op.template add<D>(x, y, py, d, e, tacc);
}

/// The same with the logit already at hand (the CPU backend keeps each tile's
/// logits from its max sweep instead of computing them twice).
template <int D, class Op, class Real, class X, class TA>
FLOWSAMPLER_HD FLOWSAMPLER_INLINE void softmax_pair_given(const Op& op, const X& x, const Real* y, const Real* py, int d,
                                                          Real logit, Real shift, Real& ts, TA& tacc) {
  const Real e = fast_exp_shifted(logit - shift);
  ts += e;
  op.template add<D>(x, y, py, d, e, tacc);
}

/// Rescales the carried state to the new max and adds the tile's sums.
template <class Real, class CA, class TA>
FLOWSAMPLER_HD FLOWSAMPLER_INLINE void softmax_carry(int p, Real shift, Real mnew, Real ts, const TA& tacc, Real& m, double& s,
                                         CA& carry) {
  const double scale = static_cast<double>(fast_exp_shifted(m - shift));
  s = s * scale + static_cast<double>(ts);
  FLOWSAMPLER_UNROLL for (int k = 0; k < p; ++k) carry(k) = carry(k) * scale + static_cast<double>(tacc(k));
  m = mnew;
}

template <int D, class Op, class Real, class X, class CA, class TA>
FLOWSAMPLER_HD FLOWSAMPLER_INLINE void softmax_tile_update(const Op& op, const X& x, const Real* yt, const Real* pt, int len,
                                               int d, Real mt, Real& m, double& s, CA& carry, TA& tacc, int skip = -1) {
  const int ds = dim<D>(d);
  const int p = Op::value_dim(ds);
  Real mnew;
  const Real shift = softmax_shift(mt, m, mnew);
  FLOWSAMPLER_UNROLL for (int k = 0; k < p; ++k) tacc(k) = Real(0);
  Real ts = 0;
  for (int j = 0; j < len; ++j)
    if (j != skip) softmax_pair<D>(op, x, yt + j * ds, pt + j * Op::payload_dim(ds), d, shift, ts, tacc);
  softmax_carry(p, shift, mnew, ts, tacc, m, s, carry);
}

/// Softmax outputs of one lane: out(k) = carry(k) / s and, where lse is not
/// null, *lse = m + log s (callers that need only the means skip the log).
/// A row with every logit -inf gives out = 0 and lse = -inf.
template <class Real, class CA, class OA>
FLOWSAMPLER_HD FLOWSAMPLER_INLINE void softmax_finish(Real m, double s, const CA& carry, int p, OA& out, Real* lse) {
  const double inv = s > 0 ? 1.0 / s : 0.0;
  for (int k = 0; k < p; ++k) out(k) = static_cast<Real>(carry(k) * inv);
  if (lse) *lse = static_cast<Real>(static_cast<double>(m) + std::log(s));
}

/// The softmax means of one lane as an op's finish sees them: mean(k) is
/// exactly what out(k) holds without a finish.
template <class Real, class CA>
struct SoftmaxMean {
  const CA& carry;
  double inv;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE Real operator()(int k) const { return static_cast<Real>(carry(k) * inv); }
};

/// Ops that declare `static constexpr bool finishes = true` turn their softmax
/// means into their outputs in the same pass (e.g. the exact GMM velocity from
/// the denoiser mean and the particle), with
///   template <int D, class X, class M, class O> void finish(const X& x, const M& mean, int d, O& out) const;
/// which saves the outputs' round trip through memory.
template <class Op, class = void>
struct op_finishes : std::false_type {};
template <class Op>
struct op_finishes<Op, std::void_t<decltype(Op::finishes)>> : std::bool_constant<Op::finishes> {};

/// The outputs of one lane: the op's finish, or the plain softmax means.
template <int D, class Op, class Real, class X, class CA, class OA>
FLOWSAMPLER_HD FLOWSAMPLER_INLINE void softmax_output(const Op& op, const X& x, int d, Real m, double s, const CA& carry,
                                                      int p, OA& out, Real* lse) {
  if constexpr (op_finishes<Op>::value) {
    const SoftmaxMean<Real, CA> mean{carry, s > 0 ? 1.0 / s : 0.0};
    op.template finish<D>(x, mean, d, out);
    if (lse) *lse = static_cast<Real>(static_cast<double>(m) + std::log(s));
  } else {
    softmax_finish(m, s, carry, p, out, lse);
  }
}

/// Inserts (v, id) into the ascending list best/idx of length k, dropping the
/// largest. Most rows do not enter, and leave at the first compare; one that
/// does shifts the slots below its place down, from the last slot up, one
/// compare each. v goes after entries equal to it and nothing equal is
/// displaced, so with ids inserted in ascending order (the rows of a tile)
/// ties keep the lower index, which makes the lists mergeable across pieces
/// of M (pairwise/reductions.hpp). NaN distances are never inserted.
template <class Real, class BA, class IA>
FLOWSAMPLER_HD FLOWSAMPLER_INLINE void kmin_insert(Real v, unsigned id, int k, BA& best, IA& idx) {
  Real b = best(k - 1);
  unsigned bi = idx(k - 1);
  bool below = v < b;  // v ranks above the entry of slot t
  if (!below) return;
  for (int t = k - 1; t > 0; --t) {
    const Real bu = best(t - 1);
    const unsigned iu = idx(t - 1);
    const bool above = v < bu;  // v ranks above slot t - 1 too: slot t takes its entry
    best(t) = above ? bu : below ? v : b;
    idx(t) = above ? iu : below ? id : bi;
    below = above, b = bu, bi = iu;
  }
  best(0) = below ? v : b;
  idx(0) = below ? id : bi;
}

/// Merges the k smallest distances of the tile (rows j0, j0 + 1, ...) into best/idx.
template <int D, class Op, class Real, class X, class BA, class IA>
FLOWSAMPLER_HD FLOWSAMPLER_INLINE void kmin_tile(const Op& op, const X& x, const Real* yt, const Real* pt, unsigned j0, int len,
                                     int d, int k, BA& best, IA& idx) {
  const int ds = dim<D>(d);
  for (int j = 0; j < len; ++j)
    kmin_insert(op.template distance<D>(x, yt + j * ds, pt + j * Op::payload_dim(ds), d), j0 + static_cast<unsigned>(j), k,
                best, idx);
}

}  // namespace flowsampler::kernels
