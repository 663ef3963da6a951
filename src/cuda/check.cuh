#pragma once
// One macro family turning CUDA, cuBLAS and cuRAND statuses into exceptions.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <curand.h>

#include "flowsampler/core/error.hpp"

#define FLOWSAMPLER_CUDA_TRY(call)                                                  \
  do {                                                                              \
    const cudaError_t flowsampler_st_ = (call);                                     \
    if (flowsampler_st_ != cudaSuccess)                                             \
      FLOWSAMPLER_FAIL("CUDA error " << cudaGetErrorName(flowsampler_st_) << " ("  \
                                     << cudaGetErrorString(flowsampler_st_) << ") in " #call); \
  } while (0)

#define FLOWSAMPLER_CUBLAS_TRY(call)                                                \
  do {                                                                              \
    const cublasStatus_t flowsampler_st_ = (call);                                  \
    if (flowsampler_st_ != CUBLAS_STATUS_SUCCESS)                                   \
      FLOWSAMPLER_FAIL("cuBLAS error " << static_cast<int>(flowsampler_st_) << " in " #call); \
  } while (0)

#define FLOWSAMPLER_CURAND_TRY(call)                                                \
  do {                                                                              \
    const curandStatus_t flowsampler_st_ = (call);                                  \
    if (flowsampler_st_ != CURAND_STATUS_SUCCESS)                                   \
      FLOWSAMPLER_FAIL("cuRAND error " << static_cast<int>(flowsampler_st_) << " in " #call); \
  } while (0)
