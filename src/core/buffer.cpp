#include "flowsampler/core/buffer.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

#include "cuda/runtime.hpp"
#include "flowsampler/core/error.hpp"

namespace flowsampler::detail {

// Host buffers are 64-byte aligned so the CPU kernels can use aligned vector loads.
void* allocate_bytes(Memory where, std::size_t bytes) {
  if (bytes == 0) return nullptr;
  if (where == Memory::device) return cuda::malloc_device(bytes);
  const std::size_t rounded = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) FLOWSAMPLER_FAIL("out of host memory allocating " << bytes << " bytes");
  return p;
}

void release_bytes(Memory where, void* p) noexcept {
  if (where == Memory::device)
    cuda::free_device(p);
  else
    std::free(p);
}

void copy_bytes(void* dst, Memory dst_where, const void* src, Memory src_where, std::size_t bytes) {
  if (bytes == 0) return;
  if (dst_where == Memory::host && src_where == Memory::host)
    std::memcpy(dst, src, bytes);
  else
    cuda::copy(dst, dst_where == Memory::device, src, src_where == Memory::device, bytes);
}

}  // namespace flowsampler::detail
