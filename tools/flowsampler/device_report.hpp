#pragma once
// The "device" object of every command's report: what the run moved between
// host and device, how often the host waited, and the pool's behaviour, from
// the context's counters (CUDA and emulator contexts; null on the CPU).
#include <nlohmann/json.hpp>

#include "flowsampler/core/context.hpp"

namespace flowsampler::cli {

inline nlohmann::json device_report(const Context& ctx) {
  if (!ctx.on_device()) return nullptr;
  const DeviceCounters c = ctx.counters();
  return {{"backend", to_string(ctx.backend())},
          {"uploads", c.uploads},
          {"upload_bytes", c.upload_bytes},
          {"downloads", c.downloads},
          {"download_bytes", c.download_bytes},
          {"device_copies", c.device_copies},
          {"device_copy_bytes", c.device_copy_bytes},
          {"transfer_bytes", c.transfer_bytes()},
          {"allocations", c.allocations},
          {"pool_requests", c.pool_requests},
          {"synchronizations", c.synchronizations},
          {"launches", c.launches},
          {"peak_bytes", c.peak_bytes}};
}

}  // namespace flowsampler::cli
