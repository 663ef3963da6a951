#include "core/pooled_device.hpp"

#include <algorithm>

#include "flowsampler/core/error.hpp"

namespace flowsampler::detail {

// 512-byte granules below 1 MiB, 1 MiB granules above: the sizes a run asks
// for repeat (stages, scratch), so blocks come back at the size they left.
std::size_t PooledDevice::rounded(std::size_t bytes) {
  constexpr std::size_t small = 512, large = std::size_t(1) << 20;
  const std::size_t g = bytes < large ? small : large;
  return (bytes + g - 1) / g * g;
}

void* PooledDevice::allocate(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  const std::size_t size = rounded(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  ++counters_.pool_requests;
  // A cached block of this size, or one at most a quarter larger.
  const auto it = cached_.lower_bound(size);
  if (it != cached_.end() && it->first <= size + size / 4) {
    void* p = it->second;
    live_.emplace(p, it->first);
    cached_.erase(it);
    return p;
  }
  void* p = raw_allocate(size);
  if (!p) {
    for (auto& [s, q] : cached_) raw_release(q), held_ -= s;
    cached_.clear();
    p = raw_allocate(size);
  }
  if (!p)
    FLOWSAMPLER_RUNTIME_FAIL("device error: out of device memory allocating " << bytes << " bytes (" << held_
                                                                      << " bytes in use by this context)");
  ++counters_.allocations;
  held_ += size;
  counters_.peak_bytes = std::max<std::uint64_t>(counters_.peak_bytes, held_);
  live_.emplace(p, size);
  return p;
}

void PooledDevice::release(void* p) noexcept {
  if (!p) return;
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = live_.find(p);
  if (it == live_.end()) return;
  cached_.emplace(it->second, p);
  live_.erase(it);
}

void PooledDevice::trim() noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [s, q] : cached_) raw_release(q), held_ -= s;
  cached_.clear();
}

}  // namespace flowsampler::detail
