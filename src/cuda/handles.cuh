#pragma once
// What a CUDA context owns; visible to the backend's .cu files only.
#include "cuda/check.cuh"
#include "cuda/runtime.hpp"

namespace flowsampler::cuda {
struct Handles {
  int dev = 0;
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  curandGenerator_t rng = nullptr;
};
}  // namespace flowsampler::cuda
