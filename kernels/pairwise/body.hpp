#pragma once
// The CUDA kernel body of the pairwise engine, written against the thread
// context (kernels/simt/thread_context.hpp): one thread per x_i, the y rows
// (and their payload) loaded tile by tile into shared memory, row-major, by
// the whole block, and each thread folding the tile into its own state with
// the same tile functions the CPU backend uses. Under tests/simt it runs on
// fibers and is compared with the CPU backend.
//
// With few x rows the launcher cuts y into pieces (pairwise/split.hpp): the
// same body then reduces one piece per block and stores its lanes' partial
// states, and PairwiseMergeBody joins them in piece order and finishes.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "pairwise/access.hpp"
#include "pairwise/reductions.hpp"
#include "pairwise/split.hpp"
#include "pairwise/tiles.hpp"

namespace flowsampler::kernels {

enum class Reduction { sum, softmax, kmin };

/// Device pointers of one call; x, y, py column-major (n x d, m x d, m x q);
/// outputs column-major. carry/tacc: n x p scratch, used by the runtime-d path.
template <class Real>
struct PairwiseDeviceArgs {
  const Real* x;
  std::size_t n;
  const Real* y;
  const Real* py;
  std::size_t m;
  int d;
  Real* out;            // sum, softmax: n x p
  Real* lse;            // softmax: n
  std::uint32_t* idx;   // kmin: n x k (distances go to out, n x k)
  int k;                // kmin
  double* carry;        // runtime d: n x p (sum, softmax) or unused
  Real* tacc;           // runtime d: n x p tile accumulators per piece; kmin: unused
  bool skip_diagonal = false;  // softmax: x and y are the same set; leave out j = i
  // y cut into pieces (pieces > 1): the grid is pieces x ceil(n / block)
  // blocks, block b reducing the rows of piece b / row_blocks for the x rows
  // of row block b % row_blocks, and each lane's partial state goes to its
  // piece's slot (column-major, piece-major columns):
  unsigned pieces = 1;
  double* split = nullptr;              // sum: p carries; softmax: m, s, p carries (n x pieces x piece_values)
  Real* split_best = nullptr;           // kmin: n x pieces x k distances
  std::uint32_t* split_idx = nullptr;   // kmin: n x pieces x k indices
};

/// The doubles of one lane's partial state in PairwiseDeviceArgs::split, and
/// where its carry starts (softmax keeps m and s first).
template <Reduction R>
FLOWSAMPLER_HD constexpr int piece_values(int value_dim) {
  return R == Reduction::kmin ? 0 : R == Reduction::softmax ? value_dim + 2 : value_dim;
}
template <Reduction R>
FLOWSAMPLER_HD constexpr int piece_carry_column() {
  return R == Reduction::softmax ? 2 : 0;
}

/// One lane's (one x row's) state while it reduces y rows: the double carry
/// of sum and softmax (registers with a compile-time D, else memory), their
/// tile accumulators, softmax's m and s, and k-min's list (always memory).
/// The memory state lies in the call's buffers (carry, the k-min outputs)
/// or, for a piece of a cut y, in the piece's slot. Shared by the tile body
/// and the merge body, so both start, fold and finish a lane alike.
template <int D, class Op, Reduction R, class Real>
struct PairwiseLane {
  using Args = PairwiseDeviceArgs<Real>;
  using X = std::conditional_t<(D > 0), Lane<Real, (D > 0 ? D : 1)>, Strided<const Real>>;
  static constexpr int P = R == Reduction::kmin ? 1 : (D > 0 ? Op::value_dim(D) : 1);

  X x;
  int p;  // value_dim (sum, softmax) or k (k-min)
  Lane<double, P> carry_r;
  Lane<Real, P> tacc_r;
  Strided<double> carry_s;
  Strided<Real> tacc_s;
  Strided<Real> best;
  Strided<std::uint32_t> bidx;
  Real m;
  double s;

  /// The lane of x row i; with `in_slot` its memory state is piece `piece`'s slot.
  FLOWSAMPLER_HD PairwiseLane(const Args& a, std::size_t i, unsigned piece, bool in_slot)
      : x(load_x(a, i)),
        p(R == Reduction::kmin ? a.k : Op::value_dim(dim<D>(a.d))),
        carry_s(in_slot && R != Reduction::kmin ? split_column(a, piece, piece_carry_column<R>(), i)
                                                 : Strided<double>{a.carry + i, a.n}),
        tacc_s{a.tacc + static_cast<std::size_t>(piece) * p * a.n + i, a.n},
        best(in_slot && R == Reduction::kmin ? piece_best(a, piece, i) : Strided<Real>{a.out + i, a.n}),
        bidx(in_slot && R == Reduction::kmin ? piece_idx(a, piece, i) : Strided<std::uint32_t>{a.idx + i, a.n}),
        m(-std::numeric_limits<Real>::infinity()),
        s(0) {}

  /// The empty state (pairwise/reductions.hpp).
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void init() {
    if constexpr (R == Reduction::kmin)
      kmin_init<Real>(p, best, bidx);
    else
      with_carry([&](auto& carry, auto&) {
        if constexpr (R == Reduction::sum)
          sum_init(width(), carry);
        else
          softmax_init(width(), m, s, carry);
      });
  }

  /// Folds the tile of rows j0 .. j0 + len - 1 (row-major yt, pt); tile row
  /// `skip` (-1: none) is left out of a softmax.
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void fold_tile(const Op& op, const Real* yt, const Real* pt, std::size_t j0,
                                                   int len, int d, int skip) {
    if constexpr (R == Reduction::sum) {
      with_carry([&](auto& carry, auto& tacc) {
        for (int k = 0; k < width(); ++k) tacc(k) = 0;
        sum_tile<D>(op, x, yt, pt, len, d, tacc);
        for (int k = 0; k < width(); ++k) carry(k) += static_cast<double>(tacc(k));
      });
    } else if constexpr (R == Reduction::softmax) {
      const Real mt = softmax_tile_max<D>(op, x, yt, pt, len, d, skip);
      with_carry([&](auto& carry, auto& tacc) {
        softmax_tile_update<D>(op, x, yt, pt, len, d, mt, m, s, carry, tacc, skip);
      });
    } else {
      kmin_tile<D>(op, x, yt, pt, static_cast<unsigned>(j0), len, d, p, best, bidx);
    }
  }

  /// Writes the outputs of x row i (k-min's list is already there).
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void finish(const Op& op, const Args& a, std::size_t i) {
    Strided<Real> out{a.out + i, a.n};
    if constexpr (R == Reduction::sum)
      with_carry([&](auto& carry, auto&) { sum_finish<Real>(width(), carry, out); });
    else if constexpr (R == Reduction::softmax)
      with_carry([&](auto& carry, auto&) {
        softmax_output<D>(op, x, a.d, m, s, carry, width(), out, a.lse ? a.lse + i : nullptr);
      });
  }

  /// Stores the partial state into piece `piece`'s slot, which already holds
  /// what lives in memory (the runtime-d carry, k-min's list).
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void store(const Args& a, unsigned piece, std::size_t i) {
    if constexpr (R == Reduction::softmax) {
      split_column(a, piece, 0, i)(0) = static_cast<double>(m);
      split_column(a, piece, 1, i)(0) = s;
    }
    if constexpr (R != Reduction::kmin && D > 0) {
      const Strided<double> slot = split_column(a, piece, piece_carry_column<R>(), i);
      for (int k = 0; k < P; ++k) slot(k) = carry_r(k);
    }
  }

  /// Joins piece `piece`'s partial state into this lane's.
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void merge(const Args& a, unsigned piece, std::size_t i) {
    if constexpr (R == Reduction::sum) {
      const Strided<double> slot = split_column(a, piece, piece_carry_column<R>(), i);
      with_carry([&](auto& carry, auto&) { sum_merge(width(), carry, slot); });
    } else if constexpr (R == Reduction::softmax) {
      const Strided<double> slot = split_column(a, piece, piece_carry_column<R>(), i);
      const Real mb = static_cast<Real>(split_column(a, piece, 0, i)(0));
      const double sb = split_column(a, piece, 1, i)(0);
      with_carry([&](auto& carry, auto&) { softmax_merge(width(), m, s, carry, mb, sb, slot); });
    } else {
      kmin_merge<Real>(p, best, bidx, piece_best(a, piece, i), piece_idx(a, piece, i));
    }
  }

 private:
  /// Calls f(carry, tacc) with the lane's accumulators: registers or memory.
  template <class F>
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void with_carry(F&& f) {
    if constexpr (D > 0)
      f(carry_r, tacc_r);
    else
      f(carry_s, tacc_s);
  }
  /// The carry's length, a constant with a compile-time D (registers need one).
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE int width() const { return D > 0 ? P : p; }

  FLOWSAMPLER_HD static X load_x(const Args& a, std::size_t i) {
    if constexpr (D > 0) {
      X xr;
      for (int k = 0; k < D; ++k) xr(k) = a.n ? a.x[k * a.n + i] : Real(0);
      return xr;
    } else {
      return X{a.x + i, a.n};
    }
  }
  FLOWSAMPLER_HD static Strided<double> split_column(const Args& a, unsigned piece, int c, std::size_t i) {
    const int w = piece_values<R>(Op::value_dim(dim<D>(a.d)));
    return {a.split + (static_cast<std::size_t>(piece) * w + c) * a.n + i, a.n};
  }
  FLOWSAMPLER_HD static Strided<Real> piece_best(const Args& a, unsigned piece, std::size_t i) {
    return {a.split_best + static_cast<std::size_t>(piece) * a.k * a.n + i, a.n};
  }
  FLOWSAMPLER_HD static Strided<std::uint32_t> piece_idx(const Args& a, unsigned piece, std::size_t i) {
    return {a.split_idx + static_cast<std::size_t>(piece) * a.k * a.n + i, a.n};
  }
};

template <int D, class Op, Reduction R>
struct PairwiseBody {
  template <class Real>
  static constexpr std::size_t shared_bytes(unsigned block, int d) {
    return static_cast<std::size_t>(block) * static_cast<std::size_t>(dim<D>(d) + Op::payload_dim(dim<D>(d))) * sizeof(Real);
  }

  /// Reduces the y rows of this block's piece (all of them when a.pieces is
  /// 1) for the block's x rows, then finishes (one piece) or stores the
  /// lanes' partial states (a cut y, merged by PairwiseMergeBody).
#if defined(__CUDACC__)
#pragma nv_exec_check_disable
#endif
  template <class Ctx, class Real>
  FLOWSAMPLER_HD static void run(Ctx& ctx, const Op op, const PairwiseDeviceArgs<Real> a) {
    const unsigned B = ctx.block_dim();
    const unsigned row_blocks = ctx.grid_dim() / a.pieces;
    const unsigned piece = ctx.block() / row_blocks;
    const bool whole = a.pieces == 1;
    const std::size_t i = static_cast<std::size_t>(ctx.block() % row_blocks) * B + ctx.thread();
    const bool active = i < a.n;
    const std::size_t ii = active ? i : 0;  // inactive threads still help load tiles
    const int ds = dim<D>(a.d);
    const int q = Op::payload_dim(ds);
    Real* yt = ctx.template shared<Real>();
    Real* pt = yt + static_cast<std::size_t>(B) * ds;
    const RowRange rows = piece_rows(a.m, B, a.pieces, piece);

    PairwiseLane<D, Op, R, Real> lane(a, ii, piece, !whole);
    if (active) lane.init();
    for (std::size_t j0 = rows.begin; j0 < rows.end; j0 += B) {
      const int tl = static_cast<int>(rows.end - j0 < B ? rows.end - j0 : B);
      for (unsigned t = ctx.thread(); t < static_cast<unsigned>(tl * ds); t += B) {
        const unsigned jj = t % tl, k = t / tl;  // consecutive threads read consecutive y rows
        yt[jj * ds + k] = a.y[k * a.m + j0 + jj];
      }
      for (unsigned t = ctx.thread(); t < static_cast<unsigned>(tl * q); t += B) {
        const unsigned jj = t % tl, k = t / tl;
        pt[jj * q + k] = a.py[k * a.m + j0 + jj];
      }
      ctx.sync();
      if (active) {
        const int skip = a.skip_diagonal && i >= j0 && i < j0 + static_cast<std::size_t>(tl) ? static_cast<int>(i - j0) : -1;
        lane.fold_tile(op, yt, pt, j0, tl, a.d, skip);
      }
      ctx.sync();
    }
    if (!active) return;
    if (whole)
      lane.finish(op, a, i);
    else
      lane.store(a, piece, i);
  }
};

/// Joins the a.pieces partial states of each x row, one thread per row, in
/// piece order 0, 1, ... (a given cut gives the same bits every time), and
/// writes the outputs as the uncut body does. No shared memory; the
/// runtime-d path merges into a.carry (n x p).
template <int D, class Op, Reduction R>
struct PairwiseMergeBody {
#if defined(__CUDACC__)
#pragma nv_exec_check_disable
#endif
  template <class Ctx, class Real>
  FLOWSAMPLER_HD static void run(Ctx& ctx, const Op op, const PairwiseDeviceArgs<Real> a) {
    const std::size_t i = static_cast<std::size_t>(ctx.block()) * ctx.block_dim() + ctx.thread();
    if (i >= a.n) return;
    PairwiseLane<D, Op, R, Real> lane(a, i, 0, false);
    lane.init();
    for (unsigned piece = 0; piece < a.pieces; ++piece) lane.merge(a, piece, i);
    lane.finish(op, a, i);
  }
};

}  // namespace flowsampler::kernels
