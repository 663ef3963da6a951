#pragma once
// The CUDA entries of the backend table's generic kernels (core/launch.hpp):
// a grid-stride loop for for_each, the two-stage reduction bodies of
// kernels/reduce/reduce_body.hpp for reduce. Instantiation units list their
// functors with FLOWSAMPLER_CUDA_FOR_EACH / FLOWSAMPLER_CUDA_REDUCE.
#include <algorithm>

#include "core/device.hpp"
#include "cuda/handles.cuh"
#include "reduce/reduce_body.hpp"
#include "simt/thread_context.hpp"

namespace flowsampler::cuda {

template <class F>
__global__ void for_each_kernel(const F f, std::size_t n) {
  const std::size_t stride = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) f(i);
}

template <class F>
void for_each(Handles* h, const void* pf, std::size_t n) {
  const F f = *static_cast<const F*>(pf);
  constexpr unsigned block = 256;
  // Enough blocks to fill the device a few times over; the loop strides the rest.
  const std::size_t want = (n + block - 1) / block, cap = static_cast<std::size_t>(h->sms) * 32;
  const unsigned grid = static_cast<unsigned>(std::max<std::size_t>(1, std::min(want, cap)));
  for_each_kernel<F><<<grid, block, 0, h->stream>>>(f, n);
  FLOWSAMPLER_CUDA_TRY(cudaGetLastError());
}

template <class F>
void reduce(Handles* h, const void* pf, std::size_t n, int width, bool max, double* scratch) {
  const F f = *static_cast<const F*>(pf);
  const unsigned block = width > 8 ? 128 : 256;
  const std::size_t per_block = static_cast<std::size_t>(block) * 8;
  const unsigned blocks = static_cast<unsigned>(
      std::max<std::size_t>(1, std::min<std::size_t>((n + per_block - 1) / per_block, detail::reduce_max_blocks)));
  double* partial = scratch + width;
  kernels::launch_body<kernels::ReduceBody<F>, F, std::size_t, int, bool, double*>
      <<<blocks, block, kernels::ReduceBody<F>::shared_bytes(block, width), h->stream>>>(f, n, width, max, partial);
  FLOWSAMPLER_CUDA_TRY(cudaGetLastError());
  kernels::launch_body<kernels::ReduceFinishBody, const double*, unsigned, int, bool, double*>
      <<<1, 32, 0, h->stream>>>(partial, blocks, width, max, scratch);
  FLOWSAMPLER_CUDA_TRY(cudaGetLastError());
}

}  // namespace flowsampler::cuda

#define FLOWSAMPLER_CUDA_FOR_EACH(...) \
  template void flowsampler::cuda::for_each<__VA_ARGS__>(flowsampler::cuda::Handles*, const void*, std::size_t);
#define FLOWSAMPLER_CUDA_REDUCE(...)                                                                          \
  template void flowsampler::cuda::reduce<__VA_ARGS__>(flowsampler::cuda::Handles*, const void*, std::size_t, int, \
                                                       bool, double*);
