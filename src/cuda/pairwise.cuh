#pragma once
#include "cuda/handles.cuh"
#include "cuda/pairwise.hpp"
#include "pairwise/dispatch.hpp"
#include "simt/thread_context.hpp"

namespace flowsampler::cuda {

template <kernels::Reduction R, class Op, class Real>
void pairwise(Handles* h, const void* pop, const kernels::PairwiseDeviceArgs<Real>& a) {
  if (a.n == 0) return;
  const Op op = *static_cast<const Op*>(pop);
  kernels::dispatch_dim(a.d, [&](auto dc) {
    constexpr int D = decltype(dc)::value;
    using Body = kernels::PairwiseBody<D, Op, R>;
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
    if (smem > 48 * 1024)
      FLOWSAMPLER_CUDA_TRY(cudaFuncSetAttribute(kernels::launch_body<Body, Op, kernels::PairwiseDeviceArgs<Real>>,
                                                cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
    kernels::launch_body<Body, Op, kernels::PairwiseDeviceArgs<Real>><<<grid, block, smem, h->stream>>>(op, a);
    FLOWSAMPLER_CUDA_TRY(cudaGetLastError());
  });
}

}  // namespace flowsampler::cuda
