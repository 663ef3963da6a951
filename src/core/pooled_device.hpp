#pragma once
// What the two device backends (CUDA and the emulator) share: a caching,
// stream-ordered memory pool and the counting of transfers, pool requests and
// synchronizations. With one stream per context, a block released and handed
// out again is only touched by work queued after everything that used it
// before, so reuse needs no synchronization; memory comes from the system
// (cudaMalloc, arena growth) only when no cached block fits.
#include <cstddef>
#include <map>
#include <mutex>
#include <unordered_map>

#include "core/device.hpp"

namespace flowsampler::detail {

class PooledDevice : public Device {
 public:
  ~PooledDevice() override = default;

  void* allocate(std::size_t bytes) final;
  void release(void* p) noexcept final;

 protected:
  /// Memory from the system; null when there is none (the pool then frees
  /// its cached blocks and asks once more).
  virtual void* raw_allocate(std::size_t bytes) = 0;
  virtual void raw_release(void* p) noexcept = 0;
  /// Returns every cached block to the system (derived destructors call it).
  void trim() noexcept;

  void count_upload(std::size_t bytes) { ++counters_.uploads, counters_.upload_bytes += bytes; }
  void count_download(std::size_t bytes) {
    ++counters_.downloads, counters_.download_bytes += bytes;
    ++counters_.synchronizations;
  }
  void count_copy(std::size_t bytes) { ++counters_.device_copies, counters_.device_copy_bytes += bytes; }
  void count_launch() { ++counters_.launches; }
  void count_sync() { ++counters_.synchronizations; }

 private:
  static std::size_t rounded(std::size_t bytes);
  std::mutex mu_;
  std::unordered_map<void*, std::size_t> live_;  // block -> its rounded size
  std::multimap<std::size_t, void*> cached_;     // free blocks by size
  std::size_t held_ = 0;                         // live + cached bytes
};

}  // namespace flowsampler::detail
