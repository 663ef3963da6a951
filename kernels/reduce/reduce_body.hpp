#pragma once
// The CUDA kernel bodies of the backend table's reductions (thread-context
// form, DESIGN.md section 3): each thread folds a grid-stride share of the
// indices with the reduction functor, the block tree-reduces its threads in
// shared memory and writes one partial per block; a one-block finish folds
// the partials in block order. For a given grid the result is deterministic.
#include <cstddef>

#include "reduce/fold.hpp"

namespace flowsampler::kernels {

template <class F>
struct ReduceBody {
  static constexpr std::size_t shared_bytes(unsigned block, int width) {
    return static_cast<std::size_t>(block) * static_cast<std::size_t>(width) * sizeof(double);
  }
  /// block_dim must be a power of two; partial has grid_dim x width slots.
  template <class Ctx>
  FLOWSAMPLER_HD static void run(Ctx& ctx, const F f, std::size_t n, int width, bool max, double* partial) {
    double acc[reduce_max_width];
    for (int k = 0; k < width; ++k) acc[k] = fold_identity(max);
    const std::size_t B = ctx.block_dim(), stride = B * ctx.grid_dim();
    for (std::size_t i = ctx.block() * B + ctx.thread(); i < n; i += stride) f(i, acc);
    double* s = ctx.template shared<double>();
    for (int k = 0; k < width; ++k) s[k * B + ctx.thread()] = acc[k];
    ctx.sync();
    for (unsigned half = ctx.block_dim() / 2; half > 0; half /= 2) {
      if (ctx.thread() < half)
        for (int k = 0; k < width; ++k) s[k * B + ctx.thread()] = fold_merge(s[k * B + ctx.thread()], s[k * B + ctx.thread() + half], max);
      ctx.sync();
    }
    if (ctx.thread() == 0)
      for (int k = 0; k < width; ++k) partial[ctx.block() * static_cast<std::size_t>(width) + k] = s[k * B];
  }
};

/// One block: out[k] = the fold of partial[b * width + k] over the blocks b, in order.
struct ReduceFinishBody {
  template <class Ctx>
  FLOWSAMPLER_HD static void run(Ctx& ctx, const double* partial, unsigned blocks, int width, bool max, double* out) {
    for (int k = static_cast<int>(ctx.thread()); k < width; k += static_cast<int>(ctx.block_dim())) {
      double v = fold_identity(max);
      for (unsigned b = 0; b < blocks; ++b) v = fold_merge(v, partial[b * static_cast<std::size_t>(width) + k], max);
      out[k] = v;
    }
  }
};

}  // namespace flowsampler::kernels
