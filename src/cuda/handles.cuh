#pragma once
// What a CUDA context owns; visible to the backend's .cu files only.
#include "cuda/check.cuh"
#include "core/cuda_runtime.hpp"

namespace flowsampler::detail {
class Device;
}

namespace flowsampler::cuda {
struct Handles {
  int dev = 0;
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  std::size_t max_shared_per_block = 48 * 1024;  ///< opt-in shared memory of one block (device attribute)
  int sms = 1;                                   ///< streaming multiprocessors
  detail::Device* memory = nullptr;              ///< the pool that lends launchers their scratch
};
}  // namespace flowsampler::cuda
