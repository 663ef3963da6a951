#pragma once
// Cutting the y rows of a pairwise call into pieces on the GPU (issue 17).
// With few x rows the grid of ceil(n / block) blocks leaves most of the
// device idle; the pieces of y give it pieces x row-blocks blocks instead,
// each reducing its piece into a partial lane state (pairwise/reductions.hpp)
// that a second kernel merges, one thread per x row, in piece order. Pieces
// are whole tiles (multiples of the block, which is the tile length), so
// each piece folds exactly the tiles the uncut body would fold.
#include <cstddef>

#include "hd.hpp"

namespace flowsampler::kernels {

/// The y rows [begin, end) of one piece.
struct RowRange {
  std::size_t begin, end;
};

/// The rows of piece `piece` of `pieces`: the same number of whole tiles of
/// `block` rows each, so the last pieces may be short or empty (an empty
/// piece stores the empty state, which merges as nothing).
FLOWSAMPLER_HD constexpr RowRange piece_rows(std::size_t m, unsigned block, unsigned pieces, unsigned piece) {
  const std::size_t tiles = (m + block - 1) / block;
  const std::size_t piece_len = (tiles + pieces - 1) / pieces * block;
  const std::size_t begin = static_cast<std::size_t>(piece) * piece_len;
  const std::size_t end = begin + piece_len;
  return {begin < m ? begin : m, end < m ? end : m};
}

/// What the launcher wants of a cut: blocks for this many waves of the
/// device (so the last, partial wave is a small part of the time), pieces of
/// at least this many tiles (a piece's load, store and merge cost about a
/// tile; shorter pieces would be mostly overhead), and at most this many
/// pieces (the merge is one thread per x row running over every piece).
struct SplitPolicy {
  std::size_t target_waves = 4;
  std::size_t min_tiles_per_piece = 4;
  unsigned max_pieces = 64;
};

/// How many pieces to cut the m y rows into for n x rows, blocks of `block`
/// threads, `sms` multiprocessors each running `blocks_per_sm` blocks at
/// once: 1 when ceil(n / block) blocks already fill target_waves waves of
/// sms * blocks_per_sm, else enough pieces to fill them, no more than
/// floor(tiles / min_tiles_per_piece) nor max_pieces.
constexpr unsigned split_pieces(std::size_t n, std::size_t m, unsigned block, int sms, int blocks_per_sm,
                                const SplitPolicy& policy = {}) {
  const std::size_t row_blocks = (n + block - 1) / block;
  const std::size_t resident = static_cast<std::size_t>(sms > 0 ? sms : 1) * (blocks_per_sm > 0 ? blocks_per_sm : 1);
  const std::size_t wanted_blocks = policy.target_waves * resident;
  if (row_blocks == 0 || row_blocks >= wanted_blocks) return 1;
  std::size_t pieces = (wanted_blocks + row_blocks - 1) / row_blocks;
  const std::size_t tiles = (m + block - 1) / block;
  const std::size_t most = tiles / policy.min_tiles_per_piece;
  if (pieces > most) pieces = most;
  if (pieces > policy.max_pieces) pieces = policy.max_pieces;
  return pieces > 1 ? static_cast<unsigned>(pieces) : 1u;
}

}  // namespace flowsampler::kernels
