#include "core/host_pool.hpp"

#include <cstdlib>
#include <limits>
#include <map>
#include <mutex>

#include "flowsampler/core/error.hpp"

namespace flowsampler::cpu {

namespace {

// Host blocks are kept for reuse. Integrators allocate and free their stage
// buffers at every step; handing memory back to the system and taking it again
// costs a page fault and a zeroing per page and, when glibc trims its heaps, a
// TLB shoot-down across cores (about 15% of a 2^20-particle sampling run
// before the pool for cloud-sized blocks; 10% of the block-by-block
// integration's time before the per-thread cache for its 64 KiB blocks).
//
// Every block carries a 64-byte header holding its size, so that release()
// knows where it came from without a lookup:
// - below 4 KiB: malloc's own per-thread cache does well; plain aligned_alloc;
// - 4 KiB to 1 MiB: a small per-thread cache, matched by exact size, no lock;
// - 1 MiB and more: one shared pool matched by exact size, at most 512 MiB kept.
constexpr std::size_t header = 64, min_cached = std::size_t(4) << 10, min_shared = std::size_t(1) << 20;
constexpr std::size_t max_shared_kept = std::size_t(512) << 20, max_thread_kept = std::size_t(8) << 20;
constexpr int thread_slots = 32;

void* system_block(std::size_t bytes) {
  if (bytes > std::numeric_limits<std::size_t>::max() - 2 * header)
    FLOWSAMPLER_RUNTIME_FAIL("out of host memory allocating " << bytes << " bytes");
  // 64-byte aligned so that the CPU kernels can use aligned vector loads.
  void* p = std::aligned_alloc(64, header + (bytes + 63) / 64 * 64);
  if (!p) FLOWSAMPLER_RUNTIME_FAIL("out of host memory allocating " << bytes << " bytes");
  *static_cast<std::size_t*>(p) = bytes;
  return static_cast<char*>(p) + header;
}
void* base_of(void* p) { return static_cast<char*>(p) - header; }
std::size_t size_of(void* p) { return *static_cast<const std::size_t*>(base_of(p)); }

class SharedPool {
 public:
  void* get(std::size_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = free_.find(bytes);
    if (it == free_.end()) return nullptr;
    void* p = it->second;
    free_.erase(it);
    kept_ -= bytes;
    return p;
  }
  bool put(void* p, std::size_t bytes) noexcept {
    try {  // a release cannot fail: without room to keep it, the block goes back
      std::lock_guard<std::mutex> lock(mu_);
      if (kept_ + bytes > max_shared_kept) return false;
      free_.emplace(bytes, p);
      kept_ += bytes;
      return true;
    } catch (...) {
      return false;
    }
  }

 private:
  std::mutex mu_;
  std::multimap<std::size_t, void*> free_;
  std::size_t kept_ = 0;
};

// Never destroyed: buffers in static objects may be released after main returns.
SharedPool& shared_pool() {
  static SharedPool* p = new SharedPool;
  return *p;
}

// A block may be released on another thread than the one that took it; it
// then joins that thread's cache. The cache's blocks go back to the system
// when its thread ends; releases after that (static objects on the main
// thread) bypass it, which the trivially destructible flag lets them see.
thread_local bool thread_cache_gone = false;
class ThreadCache {
 public:
  ~ThreadCache() {
    thread_cache_gone = true;
    for (int i = 0; i < count_; ++i) std::free(base_of(blocks_[i]));
  }
  void* get(std::size_t bytes) {
    for (int i = count_ - 1; i >= 0; --i) {
      if (size_of(blocks_[i]) != bytes) continue;
      void* p = blocks_[i];
      blocks_[i] = blocks_[--count_];
      kept_ -= bytes;
      return p;
    }
    return nullptr;
  }
  bool put(void* p, std::size_t bytes) {
    if (kept_ + bytes > max_thread_kept) return false;
    if (count_ == thread_slots) {  // make room: one goes back to the system
      kept_ -= size_of(blocks_[0]);
      std::free(base_of(blocks_[0]));
      blocks_[0] = blocks_[--count_];
    }
    blocks_[count_++] = p;
    kept_ += bytes;
    return true;
  }

 private:
  void* blocks_[thread_slots] = {};
  int count_ = 0;
  std::size_t kept_ = 0;
};
ThreadCache* thread_cache() {
  if (thread_cache_gone) return nullptr;
  thread_local ThreadCache cache;
  return &cache;
}

}  // namespace

void* host_allocate(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  void* p = nullptr;
  if (bytes >= min_shared) p = shared_pool().get(bytes);
  else if (bytes >= min_cached)
    if (ThreadCache* c = thread_cache()) p = c->get(bytes);
  return p ? p : system_block(bytes);
}

void host_release(void* p) noexcept {
  if (!p) return;
  const std::size_t bytes = size_of(p);
  bool kept = false;
  if (bytes >= min_shared) kept = shared_pool().put(p, bytes);
  else if (bytes >= min_cached)
    if (ThreadCache* c = thread_cache()) kept = c->put(p, bytes);
  if (!kept) std::free(base_of(p));
}

}  // namespace flowsampler::cpu
