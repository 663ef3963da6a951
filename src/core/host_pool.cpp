#include "core/host_pool.hpp"

#include <cstdlib>
#include <map>
#include <mutex>
#include <unordered_map>

#include "flowsampler/core/error.hpp"

namespace flowsampler::cpu {

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
    if (!p) FLOWSAMPLER_RUNTIME_FAIL("out of host memory allocating " << bytes << " bytes");
    return p;
  }
  std::mutex mu_;
  std::unordered_map<void*, std::size_t> live_;
  std::multimap<std::size_t, void*> free_;
  std::size_t kept_ = 0;
};

// Never destroyed: buffers in static objects may be released after main returns.
HostPool& pool() {
  static HostPool* p = new HostPool;
  return *p;
}

}  // namespace

void* host_allocate(std::size_t bytes) { return bytes ? pool().get(bytes) : nullptr; }
void host_release(void* p) noexcept { pool().put(p); }

}  // namespace flowsampler::cpu
