#pragma once
// Host memory for CPU contexts and host buffers: 64-byte aligned blocks, the
// large ones kept for reuse (see host_pool.cpp).
#include <cstddef>

namespace flowsampler::cpu {
void* host_allocate(std::size_t bytes);
void host_release(void* p) noexcept;
}  // namespace flowsampler::cpu
