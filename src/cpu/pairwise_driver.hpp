#pragma once
// The one tiled loop of the CPU pairwise engine: OpenMP over blocks of x rows,
// the y rows streamed in cache-sized tiles, and a reduction policy
// (cpu/reduce_*.hpp) folding each tile into the block's lane states. Within a
// tile the policies vectorize over the rows of a block with `#pragma omp simd`
// (x is column-major, so lane i reads x[k*n + i]: contiguous across lanes).
#include <algorithm>
#include <cstddef>
#include <type_traits>

#include "pairwise/access.hpp"

namespace flowsampler::cpu {

namespace detail {
/// Rows past the m-th that y_rows and py_rows must hold (any finite values):
/// the softmax's register path reads rows in chunks of this many, and drops
/// the ones past the end after reading them (a select, not a shorter loop,
/// keeps its lane loop vectorizable).
constexpr std::size_t row_padding = 8;
}  // namespace detail

template <class Real>
struct DistanceRows;
template <class Real>
struct SpanBounds;

/// Inputs of one pairwise call. x: n x d column-major. y_rows: m x d row-major
/// (the launcher's caller transposes once), py_rows: m x q row-major payload,
/// both followed by detail::row_padding readable rows.
template <class Real>
struct PairwiseArgs {
  const Real* x;
  std::size_t n;
  const Real* y_rows;
  const Real* py_rows;
  std::size_t m;
  int d;
  int threads;
  bool skip_diagonal = false;  ///< softmax: x and y are the same set; leave out the pairs j = i
  /// y's rows as the tiles by distance take them (cpu/distance_tile.hpp); null on the other paths.
  const DistanceRows<Real>* dist = nullptr;
  /// The bounds of y's spans, for a softmax that skips far ones (cpu/span_bounds.hpp); may be null.
  const SpanBounds<Real>* bounds = nullptr;
};

namespace detail {
constexpr std::size_t block_rows = 64;  // x rows per block (a few SIMD vectors) when M is large
constexpr std::size_t tile_rows = 512;  // y rows per tile (stays in L1 for small d)

/// x rows per block for a reduction over m y rows: 64, or more when m is so
/// small that a block of 64 would be a few hundred pairs (the exact GMM
/// field's K = 8 components: 512 pairs, ~0.2 us), where the block's start,
/// finish and the dynamic schedule's hand-out would cost as much as its pairs.
/// A block is kept at ~2^15 pairs, and at most 4096 rows (its lane states then
/// take (p + 2) x 32 KiB).
inline std::size_t rows_per_block(std::size_t m) {
  constexpr std::size_t target_pairs = std::size_t(1) << 15, max_rows = 4096;
  std::size_t rows = block_rows;
  while (rows < max_rows && rows * m < target_pairs) rows *= 2;
  return rows;
}

// Dimensions whose lane state fits in registers; wider ones (and runtime d)
// sweep the lanes once per y row with the lane state in L1.
constexpr bool in_registers(int D) { return D > 0 && D <= 8; }

// Threads only pay off above some work: a few hundred points by a few hundred
// (the 100-atom batches of the Monge experiments, Sinkhorn on small clouds)
// take microseconds, less than a team's fork and barrier, and far less than a
// team's spinning on a loaded machine.
constexpr double min_parallel_pairs = 1 << 17;
inline bool worth_threads(std::size_t nblocks, std::size_t n, std::size_t m) {
  return nblocks > 1 && double(n) * double(m) >= min_parallel_pairs;
}

/// A policy's tile() starts with this: the driver never passes an empty tile,
/// and saying so drops the guard around a tile's row loop, which otherwise
/// stops GCC 12 from vectorizing the lane loop around it ("loop nest
/// containing two or more consecutive inner loops"; the sum ran at half speed).
inline void nonempty_tile(int rows) {
  if (rows < 1) __builtin_unreachable();
}

/// Whether the y rows [j_begin, j_end) lie in one tile of the grid below.
inline bool one_tile(std::size_t j_begin, std::size_t j_end) {
  return j_end > j_begin && j_begin / tile_rows == (j_end - 1) / tile_rows;
}

/// Whether a policy skips far spans (cpu/span_bounds.hpp): Policy::prunes.
/// Its lanes then name the tile each block folds first, lanes.lead.
template <class Policy, class = void>
struct skips_far_spans : std::false_type {};
template <class Policy>
struct skips_far_spans<Policy, std::enable_if_t<Policy::prunes>> : std::true_type {};

/// Runs policy `pol` over every block of x rows and the y rows [j_begin,
/// j_end); Policy::Lanes(pol, args, rows, j_begin, j_end) holds the states of
/// one block's rows, reset(args, i0, len) starts them on the block of rows
/// [i0, i0 + len), and after a block's last tile done(lanes, i0, len) takes
/// them. A block folds its lead tile (see skips_far_spans) first, then the others in order.
/// Tiles sit on the absolute grid of tile_rows: a piece of a cut M that
/// starts or ends inside a tile folds only its part of it, and a cut on the
/// grid splits no tile, so its float tile sums are those of the uncut call.
template <class Policy, class Real, class Done>
void tiled(const Policy& policy, const PairwiseArgs<Real>& args, std::size_t j_begin, std::size_t j_end, Done&& done) {
  // Local copies: GCC cannot prove that stores through the lane arrays leave
  // the argument struct (or the policy's pointers) alone, and would reload
  // their fields in the lane loops.
  const PairwiseArgs<Real> a = args;
  const Policy pol = policy;
  const std::size_t rows = rows_per_block(j_end - j_begin);
  const std::size_t nblocks = (a.n + rows - 1) / rows;
  const long long nb = static_cast<long long>(nblocks);
#pragma omp parallel num_threads(a.threads) if (worth_threads(nblocks, a.n, j_end - j_begin))
  {
    typename Policy::Lanes lanes(pol, a, std::min(rows, a.n), j_begin, j_end);
#pragma omp for schedule(dynamic, 1)
    for (long long b = 0; b < nb; ++b) {
      const std::size_t i0 = static_cast<std::size_t>(b) * rows;
      const std::size_t len = std::min(rows, a.n - i0);
      lanes.reset(a, i0, len);
      std::size_t lead = j_begin;
      if constexpr (skips_far_spans<Policy>::value) lead = lanes.lead;
      const auto tile_end = [&](std::size_t j0) { return std::min(j_end, (j0 / tile_rows + 1) * tile_rows); };
      if (lead < j_end) pol.tile(lanes, a, i0, len, lead, static_cast<int>(tile_end(lead) - lead));
      for (std::size_t j0 = j_begin; j0 < j_end; j0 = tile_end(j0))
        if (j0 != lead) pol.tile(lanes, a, i0, len, j0, static_cast<int>(tile_end(j0) - j0));
      done(lanes, i0, len);
    }
  }
}

}  // namespace detail
}  // namespace flowsampler::cpu
