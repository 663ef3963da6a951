#pragma once
// The softmax reduction as a policy of the tiled CPU driver: out (n x p
// column-major) = softmax-weighted mean of the values, lse (n) = log sum_j
// exp(logit_ij), optionally leaving out the pairs j = i.
//
// In float with a compile-time d up to 4 (the exact GMM fields of 2-D and 3-D
// targets) a lane keeps x and its tile state in registers and takes the
// tile's rows inside the lane loop, in chunks of 8 rows written out straight
// (no loop inside a chunk): the chunk's logits, its max, one rescale of the
// state (an exp per lane and chunk: splitting off the first chunk would add
// the loop that stops the vectorizer), then the 8 exps and weighted values.
// GCC 12 vectorizes such a lane loop (one inner loop, known to run at least
// once) but not one with the row loop's two passes. Used when all M rows lie
// in one tile (M <= 512), where the sweeps' per-tile work (fills, shifts, the
// logits' round trip) is paid for a handful of rows.
//
// Otherwise, per tile and per tile row, lane-vectorized sweeps (lanes
// innermost) first find each lane's max logit (keeping the logits, tile rows
// x block rows in L2), then add exp(logit - max) and the weighted value; the
// per-lane sums live in L1. Ops with a distance form take those tiles by
// distance instead (cpu/distance_tile.hpp), folding each run of rows into the
// state as a tile of its own.
//
// Given bounds of the logits of y's 64-row spans (cpu/span_bounds.hpp), a
// block folds first the tile holding the span of largest bound at its
// centre, and leaves out the spans whose bound lies too far below every
// lane's running max to change its sums. Exps take fast_exp_shifted: their
// arguments, logits less a max, are <= 0.
#include <algorithm>
#include <cstddef>
#include <limits>
#include <vector>

#include "cpu/distance_tile.hpp"
#include "cpu/pairwise_driver.hpp"
#include "cpu/span_bounds.hpp"
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

  static constexpr bool distance = by_distance<D, Op>;
  /// Quadratic logits at a compile-time d up to 8 fold their tiles on whole
  /// vectors of lanes (vector_fold).
  static constexpr bool vector_logits() {
    if constexpr (kernels::quadratic_logit<Op>::value) return Op::pair_value != kernels::PairValue::weight;
    return false;
  }
  static constexpr bool vectors = D > 0 && detail::in_registers(D) && vector_logits();
  static constexpr bool prunes = kernels::has_distance_form<Op>::value;  // logit g(r2) + a(py): cpu/span_bounds.hpp

  struct Lanes {
    States st;
    DistanceBlock<Real> db;  // the tiles by distance
    // Per lane: the tile's max, the new max, the shift of its exps, the tile's
    // normalizer and value sums (Real); the tile's logits, row-major by tile row.
    // (The register path uses none of these.)
    std::vector<Real> mt, mnew, shift, ts, tacc, logits;
    bool registers;  // the register path: a block's one tile writes every lane's state
    // Far spans (cpu/span_bounds.hpp): whether this block may skip any
    // (bounds given, several tiles, finite coordinates), its centre, and
    // the tile it folds first.
    const Op* op;
    std::vector<Real> centre;
    std::size_t j_begin = 0, j_end = 0;
    bool bounded = false, prune = false;
    std::size_t lead = 0;
    std::size_t skipped = 0;  // spans this block left out (tests read it)
    Lanes(const SoftmaxPolicy& pol, const PairwiseArgs<Real>& a, std::size_t rows, std::size_t jb, std::size_t je)
        : Lanes(pol, rows, je - jb, in_registers && !a.skip_diagonal && detail::one_tile(jb, je)) {
      if constexpr (distance) db = DistanceBlock<Real>(rows, a, je - jb);
      j_begin = lead = jb, j_end = je;
      bounded = a.bounds && je > jb && !detail::one_tile(jb, je);  // bounds: set only where the policy prunes
      if (bounded) centre.resize(static_cast<std::size_t>(a.d));
    }
    Lanes(const SoftmaxPolicy& pol, std::size_t rows, std::size_t m, bool reg)
        : st(pol, rows),
          mt(reg ? 0 : lane_count(rows), -std::numeric_limits<Real>::infinity()),
          mnew(reg ? 0 : lane_count(rows)),
          shift(reg ? 0 : lane_count(rows)),
          ts(reg ? 0 : lane_count(rows), Real(0)),
          tacc(reg || distance ? 0 : static_cast<std::size_t>(pol.p) * lane_count(rows), Real(0)),  // by distance: the block's own
          logits(reg || distance ? 0 : std::min(m, detail::tile_rows) * lane_count(rows)),
          registers(reg),
          op(pol.op) {}
    /// By distance and on vectors the sweeps take whole vectors of a block's padded lanes.
    static std::size_t lane_count(std::size_t rows) {
      return distance || vectors ? detail::padded_lanes<Real>(rows) : rows;
    }
    void reset(const PairwiseArgs<Real>& a, std::size_t i0, std::size_t len) {
      if (!registers) st.clear();
      if constexpr (distance) db.load(a, i0, len);
      skipped = 0;
      if constexpr (prunes)
        if (bounded) lead_span(a, i0, len);
    }
    /// The block's centre, and the lead tile: the one holding the span of
    /// largest bound there. No skipping for a block with a non-finite coordinate.
    void lead_span(const PairwiseArgs<Real>& a, std::size_t i0, std::size_t len) {
      bool finite = true;
      for (int k = 0; k < a.d; ++k) {
        const Real* xk = a.x + static_cast<std::size_t>(k) * a.n + i0;
        Real lo = xk[0], hi = xk[0];
        for (std::size_t l = 0; l < len; ++l) {
          finite = finite && std::isfinite(xk[l]);
          lo = std::min(lo, xk[l]), hi = std::max(hi, xk[l]);
        }
        centre[static_cast<std::size_t>(k)] = lo / 2 + hi / 2;
      }
      prune = finite;
      lead = j_begin;
      if (!finite) return;
      const std::size_t first = j_begin / detail::span_rows, last = (j_end - 1) / detail::span_rows;
      double best = -std::numeric_limits<double>::infinity();
      for (std::size_t t = first; t <= last; ++t) {
        const double u = a.bounds->at(*op, centre.data(), 1, t);
        if (u > best) best = u, lead = std::max(j_begin, t * detail::span_rows / detail::tile_rows * detail::tile_rows);
      }
    }
    /// Whether the span holding row j adds nothing (to rounding) to any lane.
    bool far(const PairwiseArgs<Real>& a, std::size_t i0, std::size_t len, std::size_t j) const {
      return a.bounds->far(*op, a.x + i0, a.n, len, st.m.data(), j / detail::span_rows);
    }
  };

  /// Lane state in registers (see the top of this file): float, d <= 4, the
  /// y rows in one tile, the diagonal kept. GCC 12's outer-loop vectorizer
  /// refuses a lane loop whose chunk loop mixes types of different widths:
  /// the chunk's row index (int) against double lanes (measured: double ran
  /// 6x slower on this path), or a per-lane row compare for the left-out
  /// diagonal. Past one tile the sweeps are as fast (bench_pairwise, d = 3,
  /// M = 16384: within the noise of each other), without the per-chunk
  /// rescale and the tiles' merge.
  static constexpr bool in_registers = D > 0 && D <= 4 && sizeof(Real) == 4;
  static constexpr int chunk_rows = detail::row_padding;

  /// One chunk of chunk_rows tile rows from row `base` (rows at or past tl,
  /// read from the padding or the next tile, count as logit -inf), folded
  /// into the lane's float state: max m, normalizer s and value sums t taken
  /// against m (all 0 while m is -inf).
  /// `first`: the state is still empty (m = -inf, s = t = 0), so there is
  /// nothing to rescale (with K <= 8 components the only chunk; its rescale
  /// would be a ninth exp per lane).
  template <bool first, class X, class T>
  static FLOWSAMPLER_INLINE void chunk(const Op& o, const X& x, const Real* yt, const Real* pt, int q, int base, int tl,
                                       Real& m, Real& s, T& t) {
    constexpr Real ninf = -std::numeric_limits<Real>::infinity();
    constexpr int P = Op::value_dim(D);
    Real lg[chunk_rows];
    Real mt = ninf;
    for (int k = 0; k < chunk_rows; ++k) {
      const int j = base + k;  // may pass the tile's end: see PairwiseArgs's padding
      const Real v = o.template logit<D>(x, yt + j * D, pt + j * q, D);
      lg[k] = j < tl ? v : ninf;
      mt = lg[k] > mt ? lg[k] : mt;
    }
    const Real mn = mt > m ? mt : m;
    const Real sh = mn == ninf ? Real(0) : mn;     // the shift of this chunk's exps
    if constexpr (!first) {
      const Real scale = kernels::fast_exp_shifted(m - sh);  // the sums so far were taken against m (0 while m is -inf)
      s *= scale;
      for (int k = 0; k < P; ++k) t(k) *= scale;
    }
    m = mn;
    for (int k = 0; k < chunk_rows; ++k) {
      const int j = base + k;
      const Real e = kernels::fast_exp_shifted(lg[k] - sh);
      s += e;
      o.template add<D>(x, yt + j * D, pt + j * q, D, e, t);  // e = 0 where dropped
    }
  }

  /// The one tile on the register path: its states (max, normalizer, sums)
  /// written to `to`.
  template <bool one_chunk>
  void register_tile(States& to, const PairwiseArgs<Real>& a, std::size_t i0, std::size_t len, std::size_t j0,
                     int tl) const {
    constexpr int P = Op::value_dim(D);
    const Op& o = *op;
    const Real* x = a.x;
    const std::size_t n = a.n, B = to.count;
    const int q = Op::payload_dim(D);
    const Real* yt = a.y_rows + j0 * static_cast<std::size_t>(D);
    const Real* pt = a.py_rows + j0 * static_cast<std::size_t>(q);
    [[maybe_unused]] const int nchunks = (tl + chunk_rows - 1) / chunk_rows;
    if (nchunks < 1) __builtin_unreachable();  // see detail::nonempty_tile
    double* cp = to.carry.data();
    double* sp = to.s.data();
    Real* mp = to.m.data();
#pragma omp simd
    for (std::size_t l = 0; l < len; ++l) {
      kernels::Lane<Real, D> xr;
      for (int k = 0; k < D; ++k) xr(k) = x[k * n + i0 + l];
      Real m = -std::numeric_limits<Real>::infinity(), s = 0;
      kernels::Lane<Real, P> t;
      for (int k = 0; k < P; ++k) t(k) = Real(0);
      if constexpr (one_chunk) chunk<true>(o, xr, yt, pt, q, 0, tl, m, s, t);
      else
        for (int c = 0; c < nchunks; ++c) chunk<false>(o, xr, yt, pt, q, c * chunk_rows, tl, m, s, t);
      kernels::Strided<double> carry{cp + l, B};
      mp[l] = m, sp[l] = static_cast<double>(s);
      for (int k = 0; k < P; ++k) carry(k) = static_cast<double>(t(k));
    }
  }

  /// A tile by distance, one run of rows at a time: the run's logits (self
  /// pairs -inf), their max, the exps in place, the weighted value rows, and
  /// the run folded into the state with the displacement's x term in double.
  /// Quadratic logits (kernels::quadratic_logit: r2_coef() r2 plus the logit
  /// at r2 = 0) are taken, with their max, from each register block of r2 as
  /// the GEMM leaves it, so the run's r2 goes to memory only where the value
  /// needs it (the sqdist form). lanes.mt is -inf at the start of each run.
  void distance_tile(Lanes& lanes, const PairwiseArgs<Real>& a, std::size_t i0, std::size_t len, std::size_t j0,
                     int tl) const {
    constexpr Real ninf = -std::numeric_limits<Real>::infinity();
    constexpr kernels::PairValue form = Op::pair_value;
    const Op& o = *op;
    DistanceBlock<Real>& b = lanes.db;
    const std::size_t B = b.B;
    const std::size_t q = static_cast<std::size_t>(Op::payload_dim(a.d));
    Real *mp = lanes.st.m.data(), *mtp = lanes.mt.data(), *mn = lanes.mnew.data(), *sh = lanes.shift.data();
    Real* ts = b.tsum.data();
    const auto exps = [&](std::size_t s0, int rows) {
#pragma omp simd
      for (std::size_t l = 0; l < len; ++l) sh[l] = kernels::softmax_shift(mtp[l], mp[l], mn[l]), ts[l] = Real(0);
      Real* tv = lanes.ts.data();  // the sqdist form's sum of e r2
      for (int j = 0; j < rows; ++j) {
        const Real* rj = b.r2.data() + static_cast<std::size_t>(j) * B;
        Real* wj = b.w.data() + static_cast<std::size_t>(j) * B;
#pragma omp simd
        for (std::size_t l = 0; l < len; ++l) {
          const Real e = kernels::fast_exp_shifted(wj[l] - sh[l]);
          wj[l] = e, ts[l] += e;
          if constexpr (form == kernels::PairValue::sqdist) tv[l] += e * rj[l];
        }
      }
      if constexpr (form == kernels::PairValue::displacement)
        detail::weighted_rows(b, len, a.dist->v.data() + s0 * static_cast<std::size_t>(a.dist->vcols), rows, a.dist->vcols);
      fold_run(lanes, len);
    };
    if constexpr (kernels::quadratic_logit<Op>::value) {
      constexpr std::size_t W = detail::lanes_per_vector<Real>;
      const Real coef = o.r2_coef();
      Real *w = b.w.data(), *r2 = b.r2.data();
      const auto block = [&](const detail::R2Block<Real>& v, std::size_t s0, std::size_t l0, int j, int valid) {
        detail::Vec<Real> mx[2] = {detail::load(mtp + l0), detail::load(mtp + l0 + W)};
        for (int r = 0; r < detail::gemm_rows; ++r) {
          if (r == valid) break;
          const std::size_t row = static_cast<std::size_t>(j + r);
          const Real offset = o.logit_of(Real(0), a.py_rows + (s0 + row) * q);
          for (std::size_t h = 0; h < 2; ++h) {
            detail::Vec<Real> logit = coef * v[h][r] + offset;
            const std::size_t lane = s0 + row - i0;  // the lane whose x row is this y row
            if (a.skip_diagonal && s0 + row >= i0 && lane >= l0 + h * W && lane < l0 + (h + 1) * W)
              logit[lane - l0 - h * W] = ninf;
            detail::store(w + row * B + l0 + h * W, logit);
            if constexpr (form == kernels::PairValue::sqdist) detail::store(r2 + row * B + l0 + h * W, v[h][r]);
            mx[h] = logit > mx[h] ? logit : mx[h];
          }
        }
        detail::store(mtp + l0, mx[0]), detail::store(mtp + l0 + W, mx[1]);
      };
      for_each_run<D>(b, a, len, j0, tl, block, exps);
    } else {
      for_each_run<D>(b, a, len, j0, tl, [&](std::size_t s0, int rows) {
        for (int j = 0; j < rows; ++j) {
          const Real* py = a.py_rows + (s0 + static_cast<std::size_t>(j)) * q;
          const Real* rj = b.r2.data() + static_cast<std::size_t>(j) * B;
          Real* wj = b.w.data() + static_cast<std::size_t>(j) * B;
#pragma omp simd
          for (std::size_t l = 0; l < len; ++l) wj[l] = o.logit_of(rj[l], py);
        }
        const std::size_t s1 = s0 + static_cast<std::size_t>(rows);
        if (a.skip_diagonal)
          for (std::size_t g = std::max(i0, s0); g < std::min(i0 + len, s1); ++g) b.w[(g - s0) * B + (g - i0)] = ninf;
        for (int j = 0; j < rows; ++j) {
          const Real* wj = b.w.data() + static_cast<std::size_t>(j) * B;
#pragma omp simd
          for (std::size_t l = 0; l < len; ++l) mtp[l] = wj[l] > mtp[l] ? wj[l] : mtp[l];
        }
        exps(s0, rows);
      });
    }
  }

  /// The sweeps' two passes (see fold) for quadratic logits at d <= 8, on
  /// H = detail::lane_vectors vectors of lanes at a time with x, the max and
  /// the sums in registers, the exps whole vectors of exp_nonpositive.
  /// Same pairs in the same order as the lane loops, whose exps differ only where theirs
  /// flush a subnormal to 0. Same-run probe, mean shift float 2 threads:
  /// d = 3 4.0e9 -> 7.5e9 pairs/s, d = 8 1.9e9 -> 4.7e9.
  void vector_fold(Lanes& lanes, const PairwiseArgs<Real>& a, std::size_t i0, std::size_t len, std::size_t j0,
                   int tl) const {
    constexpr std::size_t W = detail::lanes_per_vector<Real>;
    constexpr int P = Op::value_dim(D), q = Op::payload_dim(D);
    constexpr kernels::PairValue form = Op::pair_value;
    constexpr Real ninf = -std::numeric_limits<Real>::infinity();
    using V = detail::Vec<Real>;
    const Op& o = *op;
    const Real coef = o.r2_coef();
    const std::size_t B = lanes.st.count, Bp = detail::padded_lanes<Real>(B);
    const Real* yt = a.y_rows + j0 * static_cast<std::size_t>(D);
    const Real* pt = a.py_rows + j0 * static_cast<std::size_t>(q);
    Real *mp = lanes.st.m.data(), *mt = lanes.mt.data(), *mn = lanes.mnew.data(), *sh = lanes.shift.data();
    Real *ts = lanes.ts.data(), *tacc = lanes.tacc.data(), *lg = lanes.logits.data();
    constexpr int H = detail::lane_vectors<D + P + 1>;  // x, the value sums and the exps' sum
    // Pass 1: the logits (self pairs -inf) and each lane's max.
    for (std::size_t l0 = 0; l0 < len; l0 += H * W) {
      V xv[H][D], mx[H];
      detail::load_lanes<D>(a.x + i0 + l0, a.n, std::min(H * W, len - l0), xv);
      for (int h = 0; h < H; ++h) mx[h] = V{} + ninf;
      for (int j = 0; j < tl; ++j) {
        const Real* y = yt + static_cast<std::size_t>(j) * D;
        const Real offset = o.logit_of(Real(0), pt + static_cast<std::size_t>(j) * q);
        const std::size_t self = j0 + static_cast<std::size_t>(j) - i0 - l0;  // the lane of x row j0 + j, less l0
        for (std::size_t h = 0; h < H; ++h) {
          V logit = coef * detail::sqdist_lanes<D>(xv[h], y) + offset;
          if (a.skip_diagonal && self - h * W < W) logit[self - h * W] = ninf;  // unsigned: only lanes of this vector
          detail::store(lg + static_cast<std::size_t>(j) * Bp + l0 + h * W, logit);
          mx[h] = logit > mx[h] ? logit : mx[h];
        }
      }
      for (std::size_t h = 0; h < H; ++h) detail::store(mt + l0 + h * W, mx[h]);
    }
    for (std::size_t l = 0; l < len; ++l) sh[l] = kernels::softmax_shift(mt[l], mp[l], mn[l]);
    // Pass 2: the exps, their sum and the weighted values.
    for (std::size_t l0 = 0; l0 < len; l0 += H * W) {
      V xv[H][D], se[H] = {}, acc[H][P] = {}, shv[H];
      detail::load_lanes<D>(a.x + i0 + l0, a.n, std::min(H * W, len - l0), xv);
      for (std::size_t h = 0; h < H; ++h) shv[h] = detail::load(sh + l0 + h * W);
      // Rows by batches of R: with one lane vector (H = 1) two rows' exps
      // side by side (see detail::Batch); the sums still in row order.
      constexpr int R = H == 1 ? 2 : 1;
      for (int j = 0; j < tl; j += R) {
        V ev[R * H];
        for (int r = 0; r < R; ++r)
          for (std::size_t h = 0; h < H; ++h)
            ev[r * H + h] = j + r < tl ? detail::load(lg + static_cast<std::size_t>(j + r) * Bp + l0 + h * W) - shv[h]
                                       : V{} + ninf;
        detail::exp_nonpositive<Real>(ev);
        for (int r = 0; r < R && j + r < tl; ++r) {
          const Real* y = yt + static_cast<std::size_t>(j + r) * D;
          const Real* py = pt + static_cast<std::size_t>(j + r) * q;
          for (std::size_t h = 0; h < H; ++h) {
            const V e = ev[r * H + h];
            se[h] += e;
            if constexpr (form == kernels::PairValue::displacement) {
              for (int k = 0; k < P; ++k) acc[h][k] += e * detail::displacement_lanes(o, xv[h][k], y, py, k);
            } else if constexpr (kernels::adds_value<Op>::value) {
              acc[h][0] += e * detail::sqdist_lanes<D>(xv[h], y);
            }
          }
        }
      }
      for (std::size_t h = 0; h < H; ++h) {
        detail::store(ts + l0 + h * W, se[h]);
        for (int k = 0; k < P; ++k) detail::store(tacc + static_cast<std::size_t>(k) * Bp + l0 + h * W, acc[h][k]);
      }
    }
    double* cp = lanes.st.carry.data();
    double* sp = lanes.st.s.data();
    for (std::size_t l = 0; l < len; ++l) {
      kernels::Strided<double> c{cp + l, B};
      const kernels::Strided<const Real> t{tacc + l, Bp};
      kernels::softmax_carry(P, sh[l], mn[l], ts[l], t, mp[l], sp[l], c);
    }
  }

  /// Folds a run's sums (b.tsum, and b.tacc or lanes.ts) into the state
  /// against the run's shift, clears them, and sets the run max back to -inf.
  void fold_run(Lanes& lanes, std::size_t len) const {
    DistanceBlock<Real>& b = lanes.db;
    const std::size_t B = b.B;
    Real *mp = lanes.st.m.data(), *mn = lanes.mnew.data(), *sh = lanes.shift.data(), *ts = b.tsum.data();
    double* sp = lanes.st.s.data();
    double* cp = lanes.st.carry.data();
    Real* scale = lanes.mt.data();  // the max is spent: reuse its lanes for the rescale
#pragma omp simd
    for (std::size_t l = 0; l < len; ++l) {
      scale[l] = kernels::fast_exp_shifted(mp[l] - sh[l]);
      sp[l] = sp[l] * static_cast<double>(scale[l]) + static_cast<double>(ts[l]);
      mp[l] = mn[l];
    }
    if constexpr (Op::pair_value == kernels::PairValue::displacement) {
      const double coef = static_cast<double>(op->displacement_coef());
      for (std::size_t k = 0; k < static_cast<std::size_t>(p); ++k) {
        Real* tk = b.tacc.data() + k * B;
        const Real* xk = b.xc.data() + k * B;
        double* ck = cp + k * lanes.st.count;
#pragma omp simd
        for (std::size_t l = 0; l < len; ++l) {
          ck[l] = ck[l] * static_cast<double>(scale[l]) + static_cast<double>(tk[l]) +
                  coef * static_cast<double>(xk[l]) * static_cast<double>(ts[l]);
          tk[l] = Real(0);
        }
      }
    } else {
      Real* tv = lanes.ts.data();
#pragma omp simd
      for (std::size_t l = 0; l < len; ++l) {
        cp[l] = cp[l] * static_cast<double>(scale[l]) + static_cast<double>(tv[l]);
        tv[l] = Real(0);
      }
    }
    std::fill(lanes.mt.begin(), lanes.mt.end(), -std::numeric_limits<Real>::infinity());  // the next run's max
  }

  /// A tile: its spans that may matter (all of them, without bounds), in
  /// runs of consecutive ones, each folded as a tile of its own.
  void tile(Lanes& lanes, const PairwiseArgs<Real>& a, std::size_t i0, std::size_t len, std::size_t j0, int tl) const {
    detail::nonempty_tile(tl);
    if constexpr (prunes)
      if (lanes.prune) return scan_spans(lanes, a, i0, len, j0, j0 + static_cast<std::size_t>(tl));
    fold(lanes, a, i0, len, j0, tl);
  }

  /// The spans of [j0, end) that may matter, in runs of consecutive ones.
  void scan_spans(Lanes& lanes, const PairwiseArgs<Real>& a, std::size_t i0, std::size_t len, std::size_t j0,
                  std::size_t end) const {
    const auto span_end = [&](std::size_t j) { return std::min(end, (j / detail::span_rows + 1) * detail::span_rows); };
    for (std::size_t j = j0; j < end;) {
      if (lanes.far(a, i0, len, j)) {
        j = span_end(j);
        ++lanes.skipped;
        continue;
      }
      std::size_t k = span_end(j);
      while (k < end && !lanes.far(a, i0, len, k)) k = span_end(k);
      fold(lanes, a, i0, len, j, static_cast<int>(k - j));
      j = k;
    }
  }

  /// Rows [j0, j0 + tl) of one tile folded into the lanes' states.
  void fold(Lanes& lanes, const PairwiseArgs<Real>& a, std::size_t i0, std::size_t len, std::size_t j0, int tl) const {
    detail::nonempty_tile(tl);
    if constexpr (distance) {
      distance_tile(lanes, a, i0, len, j0, tl);
      return;
    }
    if constexpr (in_registers) {
      if (lanes.registers) {
        if (tl <= chunk_rows) register_tile<true>(lanes.st, a, i0, len, j0, tl);
        else register_tile<false>(lanes.st, a, i0, len, j0, tl);
        return;
      }
    }
    if constexpr (vectors) {
      vector_fold(lanes, a, i0, len, j0, tl);
      return;
    }
    const std::size_t B = lanes.st.count;
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
