#pragma once
// Block-tiled column sums of a column-major N x d matrix: block b sums rows
// [chunk * rows_per_block, ...) of column b % d, tree-reduced in shared memory.
// Partials are returned per block and combined on the host in double, so the
// float error stays that of a within-block sum.
#include <cstddef>

#include "hd.hpp"

namespace flowsampler::kernels {

struct ColumnSumBody {
  /// Shared memory the body needs for `block_dim` threads.
  template <class Real>
  static constexpr std::size_t shared_bytes(unsigned block_dim) {
    return sizeof(double) * block_dim;
  }

  /// Blocks: d columns x ceil(n / rows_per_block) chunks, column-fastest.
  /// `partial` has one slot per block. block_dim must be a power of two.
  template <class Ctx, class Real>
  FLOWSAMPLER_HD static void run(Ctx& ctx, const Real* x, std::size_t n, std::size_t d,
                                 std::size_t rows_per_block, double* partial) {
    double* acc = ctx.template shared<double>();
    const std::size_t col = ctx.block() % d;
    const std::size_t chunk = ctx.block() / d;
    const std::size_t begin = chunk * rows_per_block;
    std::size_t end = begin + rows_per_block;
    if (end > n) end = n;
    double s = 0;
    for (std::size_t i = begin + ctx.thread(); i < end; i += ctx.block_dim())
      s += static_cast<double>(x[col * n + i]);
    acc[ctx.thread()] = s;
    ctx.sync();
    for (unsigned half = ctx.block_dim() / 2; half > 0; half /= 2) {
      if (ctx.thread() < half) acc[ctx.thread()] += acc[ctx.thread() + half];
      ctx.sync();
    }
    if (ctx.thread() == 0) partial[ctx.block()] = acc[0];
  }
};

}  // namespace flowsampler::kernels
