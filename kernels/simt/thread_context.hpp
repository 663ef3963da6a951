#pragma once
// The thread context that every custom CUDA kernel body is written against
// (DESIGN.md section 3). A body is a function template
//   template <class Ctx> FLOWSAMPLER_HD void body(Ctx& ctx, args...)
// using only ctx.thread(), ctx.block(), ctx.block_dim(), ctx.grid_dim(),
// ctx.sync() and ctx.shared<T>(). CudaThreadContext below forwards to the
// hardware; tests/simt/fiber_context.hpp runs the same body on Boost.Fiber.
#include "hd.hpp"

#if defined(__CUDACC__)
namespace flowsampler::kernels {

struct CudaThreadContext {
  __device__ unsigned thread() const { return threadIdx.x; }
  __device__ unsigned block() const { return blockIdx.x; }
  __device__ unsigned block_dim() const { return blockDim.x; }
  __device__ unsigned grid_dim() const { return gridDim.x; }
  __device__ void sync() const { __syncthreads(); }
  /// The block's dynamic shared memory, viewed as T.
  template <class T>
  __device__ T* shared() const {
    extern __shared__ unsigned char flowsampler_dynamic_smem[];
    return reinterpret_cast<T*>(flowsampler_dynamic_smem);
  }
};

/// The one __global__ entry point: runs Body::run(ctx, args...) per thread.
template <class Body, class... Args>
__global__ void launch_body(Args... args) {
  CudaThreadContext ctx;
  Body::run(ctx, args...);
}

}  // namespace flowsampler::kernels
#endif
