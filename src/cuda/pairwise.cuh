#pragma once
#include "core/device.hpp"
#include "cuda/handles.cuh"
#include "cuda/pairwise.hpp"
#include "pairwise/device_dim.hpp"
#include "pairwise/split.hpp"
#include "simt/thread_context.hpp"

namespace flowsampler::cuda {

namespace detail_pairwise {

/// Blocks of `kernel` one multiprocessor runs at once (at least 1).
template <class Kernel>
int resident_blocks(Kernel kernel, unsigned block, std::size_t smem) {
  int blocks = 0;
  FLOWSAMPLER_CUDA_TRY(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, kernel, static_cast<int>(block), smem));
  return blocks > 0 ? blocks : 1;
}

/// The y rows cut into `pieces`: PairwiseBody reduces every piece for every
/// row block (pieces x row_blocks blocks) into the pieces' slots, taken from
/// the device pool, then PairwiseMergeBody joins them per x row, in order.
template <int D, kernels::Reduction R, class Op, class Real>
void launch_split(Handles* h, const Op& op, kernels::PairwiseDeviceArgs<Real> a, unsigned pieces, unsigned block,
                  std::size_t smem) {
  using Args = kernels::PairwiseDeviceArgs<Real>;
  using Body = kernels::PairwiseBody<D, Op, R>;
  using Merge = kernels::PairwiseMergeBody<D, Op, R>;
  constexpr bool kmin = R == kernels::Reduction::kmin, runtime_d = D == 0;
  const std::size_t lanes = a.n * pieces;
  const std::size_t p = static_cast<std::size_t>(kmin ? a.k : Op::value_dim(a.d));
  flowsampler::detail::Device& pool = *h->memory;
  using flowsampler::detail::DeviceScratch;
  const std::size_t state_values = static_cast<std::size_t>(kernels::piece_values<R>(static_cast<int>(p)));
  const DeviceScratch states(pool, kmin ? 0 : lanes * state_values * sizeof(double));
  const DeviceScratch best(pool, kmin ? lanes * p * sizeof(Real) : 0);
  const DeviceScratch idx(pool, kmin ? lanes * p * sizeof(std::uint32_t) : 0);
  const DeviceScratch tacc(pool, !kmin && runtime_d ? lanes * p * sizeof(Real) : 0);
  a.pieces = pieces;
  a.split = static_cast<double*>(states.p);
  a.split_best = static_cast<Real*>(best.p);
  a.split_idx = static_cast<std::uint32_t*>(idx.p);
  if (!kmin && runtime_d) a.tacc = static_cast<Real*>(tacc.p);  // one n x p tile accumulator per piece
  const unsigned row_blocks = static_cast<unsigned>((a.n + block - 1) / block);
  kernels::launch_body<Body, Op, Args><<<pieces * row_blocks, block, smem, h->stream>>>(op, a);
  FLOWSAMPLER_CUDA_TRY(cudaGetLastError());
  kernels::launch_body<Merge, Op, Args><<<row_blocks, block, 0, h->stream>>>(op, a);
  FLOWSAMPLER_CUDA_TRY(cudaGetLastError());
}

}  // namespace detail_pairwise

template <kernels::Reduction R, class Op, class Real>
void pairwise(Handles* h, const void* pop, const kernels::PairwiseDeviceArgs<Real>& a) {
  if (a.n == 0) return;
  const Op op = *static_cast<const Op*>(pop);
  // Dimensions whose lane state would spill run the runtime-d body (pairwise/device_dim.hpp).
  kernels::dispatch_device_dim<Op, Real>(a.d, [&](auto dc) {
    constexpr int D = decltype(dc)::value;
    using Body = kernels::PairwiseBody<D, Op, R>;
    using Args = kernels::PairwiseDeviceArgs<Real>;
    // A tile is one y row (and its payload) per thread: halve the block until
    // the tile fits in the shared memory this device grants a block.
    const std::size_t smem_budget = h->max_shared_per_block;
    unsigned block = 128;
    while (block > 32 && Body::template shared_bytes<Real>(block, a.d) > smem_budget) block /= 2;
    if (Body::template shared_bytes<Real>(block, a.d) > smem_budget)
      FLOWSAMPLER_FAIL("pairwise: a y row with its payload needs " << Body::template shared_bytes<Real>(1, a.d)
                                                                    << " bytes; 32 of them exceed the device's "
                                                                    << smem_budget << " bytes of shared memory");
    if (D == 0 && R != kernels::Reduction::kmin && (!a.carry || !a.tacc))
      FLOWSAMPLER_FAIL("pairwise: the runtime-d path needs its lane scratch");
    const unsigned grid = static_cast<unsigned>((a.n + block - 1) / block);
    const std::size_t smem = Body::template shared_bytes<Real>(block, a.d);
    const auto kernel = &kernels::launch_body<Body, Op, Args>;
    if (smem > 48 * 1024)
      FLOWSAMPLER_CUDA_TRY(
          cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
    // Too few row blocks to fill the device: cut y too (pairwise/split.hpp).
    const unsigned pieces = h->memory ? kernels::split_pieces(a.n, a.m, block, h->sms,
                                                              detail_pairwise::resident_blocks(kernel, block, smem))
                                      : 1u;
    if (pieces > 1) {
      detail_pairwise::launch_split<D, R>(h, op, a, pieces, block, smem);
      return;
    }
    kernels::launch_body<Body, Op, Args><<<grid, block, smem, h->stream>>>(op, a);
    FLOWSAMPLER_CUDA_TRY(cudaGetLastError());
  });
}

}  // namespace flowsampler::cuda
