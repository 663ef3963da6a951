#pragma once
// Shared by the `device` tests (ctest label `device`): emulator and CPU
// contexts side by side, host copies, and transfer budgets. A budget check
// fails with the counts, so a stray copy in the orchestration shows as a
// number, not as a timing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <limits>
#include <sstream>
#include <vector>

#include "flowsampler/core/context.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/core/particle_set.hpp"

namespace flowsampler::test {

/// The device a device test runs on: the emulator (the CUDA orchestration on
/// the CPU), or the GPU when FLOWSAMPLER_DEVICE_TEST_BACKEND=cuda
/// (scripts/gpu-check). Compared against the CPU backend, both with 2 threads.
inline bool on_gpu() {
  const char* b = std::getenv("FLOWSAMPLER_DEVICE_TEST_BACKEND");
  return b && std::string(b) == "cuda";
}
inline Context emulator(std::uint64_t seed = 0) {
  return Context::create(on_gpu() ? Backend::cuda : Backend::emulator, seed, 2);
}
inline Context cpu(std::uint64_t seed = 0) { return Context::create(Backend::cpu, seed, 2); }

/// The emulator runs the CPU's kernels, so its results equal the CPU's bit for
/// bit (tolerance 0); a GPU rounds differently (its exp, FMA contraction,
/// reduction trees), within `gpu` (relative to the values' scale).
inline double exact_or(double gpu) { return on_gpu() ? gpu : 0.0; }

/// The same set on another context (an upload or a download).
template <class Real>
ParticleSet<Real> on(const Context& ctx, const ParticleSet<Real>& x) {
  return ParticleSet<Real>::from_column_major(ctx, x.to_host().data(), x.n(), x.d());
}

/// Largest |a - b| over two sets of the same shape (any memory).
template <class Real>
double max_abs_diff(const ParticleSet<Real>& a, const ParticleSet<Real>& b) {
  EXPECT_EQ(a.n(), b.n());
  EXPECT_EQ(a.d(), b.d());
  const std::vector<Real> x = a.to_host(), y = b.to_host();
  double m = 0;
  for (std::size_t e = 0; e < std::min(x.size(), y.size()); ++e)
    m = std::max(m, std::isnan(double(x[e])) != std::isnan(double(y[e])) ? std::numeric_limits<double>::infinity()
                                                                          : std::fabs(double(x[e]) - double(y[e])));
  return m;
}

/// What a piece of orchestration may do on a device. Unset limits are unbounded.
struct Budget {
  std::uint64_t transfer_bytes = std::numeric_limits<std::uint64_t>::max();  ///< uploads + downloads
  std::uint64_t uploads = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t downloads = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t allocations = std::numeric_limits<std::uint64_t>::max();  ///< from the system (pool growth)
  std::uint64_t synchronizations = std::numeric_limits<std::uint64_t>::max();
};

inline std::string describe(const DeviceCounters& c) {
  std::ostringstream os;
  os << c.uploads << " uploads (" << c.upload_bytes << " B), " << c.downloads << " downloads (" << c.download_bytes
     << " B), " << c.device_copies << " device copies, " << c.allocations << " allocations, " << c.pool_requests
     << " pool requests, " << c.synchronizations << " syncs, " << c.launches << " launches";
  return os.str();
}

/// Checks counters (usually the difference over a region) against a budget.
inline ::testing::AssertionResult within(const DeviceCounters& c, const Budget& b) {
  std::ostringstream over;
  auto check = [&](const char* what, std::uint64_t got, std::uint64_t limit) {
    if (got > limit) over << " " << what << " " << got << " > " << limit << ";";
  };
  check("transfer bytes", c.transfer_bytes(), b.transfer_bytes);
  check("uploads", c.uploads, b.uploads);
  check("downloads", c.downloads, b.downloads);
  check("allocations", c.allocations, b.allocations);
  check("synchronizations", c.synchronizations, b.synchronizations);
  if (over.str().empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "over budget:" << over.str() << " (" << describe(c) << ")";
}

}  // namespace flowsampler::test

namespace flowsampler {
/// Counters accumulated between two snapshots.
inline DeviceCounters operator-(const DeviceCounters& a, const DeviceCounters& b) {
  DeviceCounters d;
  d.uploads = a.uploads - b.uploads, d.upload_bytes = a.upload_bytes - b.upload_bytes;
  d.downloads = a.downloads - b.downloads, d.download_bytes = a.download_bytes - b.download_bytes;
  d.device_copies = a.device_copies - b.device_copies, d.device_copy_bytes = a.device_copy_bytes - b.device_copy_bytes;
  d.allocations = a.allocations - b.allocations, d.pool_requests = a.pool_requests - b.pool_requests;
  d.synchronizations = a.synchronizations - b.synchronizations, d.launches = a.launches - b.launches;
  d.peak_bytes = a.peak_bytes;
  return d;
}

}  // namespace flowsampler

