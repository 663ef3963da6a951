#pragma once
// The softmax reduction as a policy of the tiled CPU driver: out (n x p
// column-major) = softmax-weighted mean of the values, lse (n) = log sum_j
// exp(logit_ij), optionally leaving out the pairs j = i.
//
// Per tile and per tile row, lane-vectorized sweeps (lanes innermost) first
// find each lane's max logit (keeping the logits, tile_rows x block_rows in
// L2), then add exp(logit - max) and the weighted value; the per-lane sums
// live in L1. (The register-resident form of the sum reduction, rows inside
// the lane loop, is not used here: GCC 12 does not vectorize a lane loop
// around this update.)
#include <algorithm>
#include <cstddef>
#include <limits>
#include <vector>

#include "cpu/pairwise_driver.hpp"
#include "pairwise/reductions.hpp"
#include "pairwise/tiles.hpp"

// glibc declares its vector log (libmvec) only under -ffast-math; declaring it
// here lets the softmax finish loop call _ZGV*_log instead of a scalar log.
extern "C" {
#pragma omp declare simd notinbranch
double log(double) noexcept;
}

namespace flowsampler::cpu {

template <int D, class Op, class Real>
struct SoftmaxPolicy {
  const Op* op;
  Real* out;  ///< n x p column-major; null where only the states are wanted
  Real* lse;  ///< n; may be null
  int p;

  SoftmaxPolicy(const Op& o, int d, Real* o_out, Real* o_lse)
      : op(&o), out(o_out), lse(o_lse), p(Op::value_dim(kernels::dim<D>(d))) {}

  /// The states of `count` lanes (see pairwise/reductions.hpp): lane l's max
  /// m[l], normalizer s[l] and carry entry k at carry[k * count + l].
  struct States {
    std::size_t count;
    int p;
    std::vector<Real> m;
    std::vector<double> s, carry;
    States(const SoftmaxPolicy& pol, std::size_t c) : count(c), p(pol.p), m(c), s(c), carry(static_cast<std::size_t>(p) * c) {
      clear();
    }
    void clear() {
      for (std::size_t l = 0; l < count; ++l) {
        auto c = lane(l);
        kernels::softmax_init(p, m[l], s[l], c);
      }
    }
    kernels::Strided<double> lane(std::size_t l) { return {carry.data() + l, count}; }
    kernels::Strided<const double> lane(std::size_t l) const { return {carry.data() + l, count}; }
  };

  struct Lanes {
    States st;
    // Per lane: the tile's max, the new max, the shift of its exps, the tile's
    // normalizer and value sums (Real); the tile's logits, row-major by tile row.
    std::vector<Real> mt, mnew, shift, ts, tacc, logits;
    Lanes(const SoftmaxPolicy& pol, const PairwiseArgs<Real>&)
        : st(pol, detail::block_rows),
          mt(detail::block_rows),
          mnew(detail::block_rows),
          shift(detail::block_rows),
          ts(detail::block_rows, Real(0)),
          tacc(static_cast<std::size_t>(pol.p) * detail::block_rows, Real(0)),
          logits(detail::tile_rows * detail::block_rows) {}
    void reset() { st.clear(); }
  };

  void tile(Lanes& lanes, const PairwiseArgs<Real>& a, std::size_t i0, std::size_t len, std::size_t j0, int tl) const {
    detail::nonempty_tile(tl);
    constexpr std::size_t B = detail::block_rows;
    constexpr int PD = D > 0 ? Op::value_dim(D) : 0;  // a constant the unroller sees early
    const int pp = D > 0 ? PD : p;
    const Op& o = *op;
    const Real* x = a.x;
    const std::size_t n = a.n;
    const int d = a.d, ds = kernels::dim<D>(d), q = Op::payload_dim(ds);
    const Real* yt = a.y_rows + j0 * static_cast<std::size_t>(ds);
    const Real* pt = a.py_rows + j0 * static_cast<std::size_t>(q);
    double* cp = lanes.st.carry.data();
    double* sp = lanes.st.s.data();
    Real *mp = lanes.st.m.data(), *mtp = lanes.mt.data(), *mn = lanes.mnew.data(), *sh = lanes.shift.data();
    Real *tsp = lanes.ts.data(), *tp = lanes.tacc.data(), *lg = lanes.logits.data();
    std::fill(lanes.mt.begin(), lanes.mt.end(), -std::numeric_limits<Real>::infinity());
    for (int j = 0; j < tl; ++j) {
      const Real* y = yt + static_cast<std::size_t>(j) * ds;
      const Real* py = pt + static_cast<std::size_t>(j) * q;
      Real* lgj = lg + static_cast<std::size_t>(j) * B;
#pragma omp simd
      for (std::size_t l = 0; l < len; ++l) {
        const kernels::Strided<const Real> xs{x + i0 + l, n};
        const Real v = o.template logit<D>(xs, y, py, d);
        lgj[l] = v;
        mtp[l] = v > mtp[l] ? v : mtp[l];
      }
    }
    if (a.skip_diagonal && j0 < i0 + len && i0 < j0 + static_cast<std::size_t>(tl)) {
      // The block's own points lie in this tile: drop their self pairs
      // (logit -inf, so exp gives 0) and take the lanes' max again.
      const std::size_t lo = std::max(i0, j0), hi = std::min(i0 + len, j0 + static_cast<std::size_t>(tl));
      for (std::size_t g = lo; g < hi; ++g) {
        const std::size_t l = g - i0;
        lg[(g - j0) * B + l] = -std::numeric_limits<Real>::infinity();
        Real mx = -std::numeric_limits<Real>::infinity();
        for (int j = 0; j < tl; ++j) mx = std::max(mx, lg[static_cast<std::size_t>(j) * B + l]);
        mtp[l] = mx;
      }
    }
#pragma omp simd
    for (std::size_t l = 0; l < len; ++l) sh[l] = kernels::softmax_shift(mtp[l], mp[l], mn[l]);
    for (int j = 0; j < tl; ++j) {
      const Real* y = yt + static_cast<std::size_t>(j) * ds;
      const Real* py = pt + static_cast<std::size_t>(j) * q;
      const Real* lgj = lg + static_cast<std::size_t>(j) * B;
#pragma omp simd
      for (std::size_t l = 0; l < len; ++l) {
        const kernels::Strided<const Real> xs{x + i0 + l, n};
        kernels::Strided<Real> t{tp + l, B};
        kernels::softmax_pair_given<D>(o, xs, y, py, d, lgj[l], sh[l], tsp[l], t);
      }
    }
#pragma omp simd
    for (std::size_t l = 0; l < len; ++l) {
      kernels::Strided<double> c{cp + l, B};
      kernels::Strided<Real> t{tp + l, B};
      kernels::softmax_carry(pp, sh[l], mn[l], tsp[l], t, mp[l], sp[l], c);
      tsp[l] = 0;  // ready for the next tile
      FLOWSAMPLER_UNROLL for (int k = 0; k < pp; ++k) t(k) = Real(0);
    }
  }

  /// Copies the states of lanes 0..len-1 to lanes i0.. of `to`.
  void save(const States& from, std::size_t len, std::size_t i0, States& to) const {
    for (std::size_t l = 0; l < len; ++l) {
      to.m[i0 + l] = from.m[l], to.s[i0 + l] = from.s[l];
      for (int k = 0; k < p; ++k) to.lane(i0 + l)(k) = from.lane(l)(k);
    }
  }

  void merge(States& a, const States& b) const {
    for (std::size_t l = 0; l < a.count; ++l) {
      auto ca = a.lane(l);
      kernels::softmax_merge(p, a.m[l], a.s[l], ca, b.m[l], b.s[l], b.lane(l));
    }
  }

  /// Outputs of x rows i0..i0+len-1 from lanes 0..len-1 of st.
  void finish(const States& st, const PairwiseArgs<Real>& a, std::size_t i0, std::size_t len) const {
    const Op& o = *op;
    const Real* x = a.x;
    const std::size_t n = a.n, stride = st.count;
    const int d = a.d, pp = D > 0 ? Op::value_dim(D) : p;
    const Real* mp = st.m.data();
    const double *sp = st.s.data(), *cp = st.carry.data();
    Real* op_out = out;
    // Two loops, so that the one without the log-normalizer has no log in it.
    if (Real* lp = lse) {
#pragma omp simd
      for (std::size_t l = 0; l < len; ++l) {
        const kernels::Strided<const Real> xs{x + i0 + l, n};
        kernels::Strided<const double> c{cp + l, stride};
        kernels::Strided<Real> ol{op_out + i0 + l, n};
        kernels::softmax_output<D>(o, xs, d, mp[l], sp[l], c, pp, ol, lp + i0 + l);
      }
    } else {
#pragma omp simd
      for (std::size_t l = 0; l < len; ++l) {
        const kernels::Strided<const Real> xs{x + i0 + l, n};
        kernels::Strided<const double> c{cp + l, stride};
        kernels::Strided<Real> ol{op_out + i0 + l, n};
        kernels::softmax_output<D>(o, xs, d, mp[l], sp[l], c, pp, ol, static_cast<Real*>(nullptr));
      }
    }
  }
};

}  // namespace flowsampler::cpu
