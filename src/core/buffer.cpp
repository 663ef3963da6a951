#include "flowsampler/core/buffer.hpp"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <unordered_map>

#include "cuda/runtime.hpp"
#include "flowsampler/core/error.hpp"

namespace flowsampler::detail {

namespace {

// Large host blocks are kept for reuse. Integrators allocate and free
// cloud-sized buffers at every stage; fresh pages from the kernel cost a page
// fault and a zeroing each (about 15% of a 2^20-particle sampling run before
// this pool). Blocks of at least 1 MiB are matched by exact size; at most
// 512 MiB are kept, beyond that they go back to the system.
class HostPool {
 public:
  void* get(std::size_t bytes) {
    if (bytes < min_block) return aligned(bytes);
    {
      std::lock_guard<std::mutex> lock(mu_);
      const auto it = free_.find(bytes);
      if (it != free_.end()) {
        void* p = it->second;
        free_.erase(it);
        kept_ -= bytes;
        live_.emplace(p, bytes);
        return p;
      }
    }
    void* p = aligned(bytes);
    std::lock_guard<std::mutex> lock(mu_);
    live_.emplace(p, bytes);
    return p;
  }
  void put(void* p) noexcept {
    if (!p) return;
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = live_.find(p);
    if (it == live_.end()) return std::free(p);  // a small block
    const std::size_t bytes = it->second;
    live_.erase(it);
    if (kept_ + bytes > max_kept) return std::free(p);
    free_.emplace(bytes, p);
    kept_ += bytes;
  }

 private:
  static constexpr std::size_t min_block = std::size_t(1) << 20, max_kept = std::size_t(512) << 20;
  // 64-byte aligned so that the CPU kernels can use aligned vector loads.
  static void* aligned(std::size_t bytes) {
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) FLOWSAMPLER_FAIL("out of host memory allocating " << bytes << " bytes");
    return p;
  }
  std::mutex mu_;
  std::unordered_map<void*, std::size_t> live_;
  std::multimap<std::size_t, void*> free_;
  std::size_t kept_ = 0;
};

// Never destroyed: buffers in static objects may be released after main returns.
HostPool& host_pool() {
  static HostPool* pool = new HostPool;
  return *pool;
}

}  // namespace

void* allocate_bytes(Memory where, std::size_t bytes) {
  if (bytes == 0) return nullptr;
  if (where == Memory::device) return cuda::malloc_device(bytes);
  return host_pool().get(bytes);
}

void release_bytes(Memory where, void* p) noexcept {
  if (where == Memory::device)
    cuda::free_device(p);
  else
    host_pool().put(p);
}

void copy_bytes(void* dst, Memory dst_where, const void* src, Memory src_where, std::size_t bytes) {
  if (bytes == 0) return;
  if (dst_where == Memory::host && src_where == Memory::host)
    std::memcpy(dst, src, bytes);
  else
    cuda::copy(dst, dst_where == Memory::device, src, src_where == Memory::device, bytes);
}

}  // namespace flowsampler::detail
