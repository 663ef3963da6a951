#pragma once
// One macro family turning CUDA and cuBLAS statuses into exceptions: device
// failures are RuntimeErrors ("device error: ..."; the CLI exits 1), not bad input.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "flowsampler/core/error.hpp"

#define FLOWSAMPLER_CUDA_TRY(call)                                                                       \
  do {                                                                                                   \
    const cudaError_t flowsampler_st_ = (call);                                                          \
    if (flowsampler_st_ != cudaSuccess)                                                                  \
      FLOWSAMPLER_RUNTIME_FAIL("device error: CUDA " << cudaGetErrorName(flowsampler_st_) << " ("        \
                                                     << cudaGetErrorString(flowsampler_st_) << ") in " #call); \
  } while (0)

#define FLOWSAMPLER_CUBLAS_TRY(call)                                                                    \
  do {                                                                                                  \
    const cublasStatus_t flowsampler_st_ = (call);                                                      \
    if (flowsampler_st_ != CUBLAS_STATUS_SUCCESS)                                                       \
      FLOWSAMPLER_RUNTIME_FAIL("device error: cuBLAS status " << static_cast<int>(flowsampler_st_) << " in " #call); \
  } while (0)
