#pragma once
// The host-side face of the CUDA backend, free of CUDA types so that plain C++
// translation units can call it. Defined in src/cuda/runtime.cu when the CUDA
// backend is built, and by src/cpu/no_cuda.cpp (answers "no device") otherwise.
#include <cstddef>
#include <string>

namespace flowsampler::cuda {

int device_count();
/// Name, compute capability and memory of device `dev`.
std::string describe_device(int dev);

/// Stream, cuBLAS handle and cuRAND generator of one context.
struct Handles;
Handles* create_handles(int dev, unsigned long long seed);
void destroy_handles(Handles* h) noexcept;
void synchronize(Handles* h);

void* malloc_device(std::size_t bytes);
void free_device(void* p) noexcept;
/// Synchronous copy; `dst_device`/`src_device` tell where each pointer lives.
void copy(void* dst, bool dst_device, const void* src, bool src_device, std::size_t bytes);

}  // namespace flowsampler::cuda
