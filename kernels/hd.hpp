#pragma once
// Backend-neutral annotations for code shared by the CPU and CUDA backends.
#if defined(__CUDACC__)
#define FLOWSAMPLER_HD __host__ __device__
#define FLOWSAMPLER_DEVICE_CODE 1
#else
#define FLOWSAMPLER_HD
#endif
#if defined(__CUDA_ARCH__)
#define FLOWSAMPLER_ON_DEVICE 1
#endif

// Per-pair code must be inlined into the lane loops: a call (or a lane's
// accessor object left in memory) stops GCC from vectorizing the loop.
#if defined(__CUDACC__)
#define FLOWSAMPLER_INLINE __forceinline__
#elif defined(__GNUC__)
#define FLOWSAMPLER_INLINE inline __attribute__((always_inline))
#else
#define FLOWSAMPLER_INLINE inline
#endif

// Fully unroll a loop whose trip count is a compile-time dimension (nvcc).
// GCC 12 rejects the annotation inside templates ("ignoring loop annotation")
// and unrolls such short constant loops by itself.
#if defined(__CUDACC__)
#define FLOWSAMPLER_UNROLL _Pragma("unroll")
#else
#define FLOWSAMPLER_UNROLL
#endif
