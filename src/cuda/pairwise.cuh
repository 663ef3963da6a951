#pragma once
#include "cuda/handles.cuh"
#include "cuda/pairwise.hpp"
#include "pairwise/dispatch.hpp"
#include "simt/thread_context.hpp"

namespace flowsampler::cuda {

template <kernels::Reduction R, class Op, class Real>
void pairwise(Handles* h, const Op& op, kernels::PairwiseDeviceArgs<Real> a) {
  if (a.n == 0) return;
  constexpr unsigned block = 128;
  const unsigned grid = static_cast<unsigned>((a.n + block - 1) / block);
  kernels::dispatch_dim(a.d, [&](auto dc) {
    constexpr int D = decltype(dc)::value;
    using Body = kernels::PairwiseBody<D, Op, R>;
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
