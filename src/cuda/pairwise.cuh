#pragma once
#include "cuda/handles.cuh"
#include "cuda/pairwise.hpp"
#include "pairwise/dispatch.hpp"
#include "simt/thread_context.hpp"

namespace flowsampler::cuda {

template <kernels::Reduction R, class Op, class Real>
void pairwise(Handles* h, const Op& op, kernels::PairwiseDeviceArgs<Real> a) {
  if (a.n == 0) return;
  kernels::dispatch_dim(a.d, [&](auto dc) {
    constexpr int D = decltype(dc)::value;
    using Body = kernels::PairwiseBody<D, Op, R>;
    // A tile is one y row (and its payload) per thread: halve the block until
    // the tile fits in shared memory (wide payloads, e.g. full covariances).
    constexpr std::size_t smem_budget = 160 * 1024;
    unsigned block = 128;
    while (block > 32 && Body::template shared_bytes<Real>(block, a.d) > smem_budget) block /= 2;
    if (Body::template shared_bytes<Real>(block, a.d) > smem_budget)
      FLOWSAMPLER_FAIL("pairwise: a y row with its payload needs " << Body::template shared_bytes<Real>(1, a.d)
                                                                    << " bytes; 32 of them exceed shared memory");
    const unsigned grid = static_cast<unsigned>((a.n + block - 1) / block);
    double* carry = nullptr;
    Real* tacc = nullptr;
    if (D == 0 && R != kernels::Reduction::kmin) {
      const std::size_t p = static_cast<std::size_t>(Op::value_dim(a.d));
      FLOWSAMPLER_CUDA_TRY(cudaMallocAsync(&carry, a.n * p * sizeof(double), h->stream));
      FLOWSAMPLER_CUDA_TRY(cudaMallocAsync(&tacc, a.n * p * sizeof(Real), h->stream));
    }
    a.carry = carry;
    a.tacc = tacc;
    const std::size_t smem = Body::template shared_bytes<Real>(block, a.d);
    if (smem > 48 * 1024)
      FLOWSAMPLER_CUDA_TRY(cudaFuncSetAttribute(kernels::launch_body<Body, Op, kernels::PairwiseDeviceArgs<Real>>,
                                                cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
    kernels::launch_body<Body, Op, kernels::PairwiseDeviceArgs<Real>><<<grid, block, smem, h->stream>>>(op, a);
    FLOWSAMPLER_CUDA_TRY(cudaGetLastError());
    if (carry) FLOWSAMPLER_CUDA_TRY(cudaFreeAsync(carry, h->stream));
    if (tacc) FLOWSAMPLER_CUDA_TRY(cudaFreeAsync(tacc, h->stream));
  });
}

}  // namespace flowsampler::cuda
