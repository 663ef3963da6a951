#pragma once
/// \file Context: the backend, its memory pool and stream, and the random stream state.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "flowsampler/core/names.hpp"

namespace flowsampler {

/// Where a computation runs. `emulator` runs the device orchestration of the
/// CUDA backend on the CPU: its "device" memory is an arena that host code
/// cannot touch (a stray access stops the program with a message), and it
/// counts transfers, allocations and synchronizations (see DeviceCounters).
enum class Backend { automatic, cpu, cuda, emulator };

/// The names of Backend values: parsing, printing and the CLI's choices (core/names.hpp).
inline constexpr NameTable<Backend, 4> backend_names{{
    {Backend::automatic, "auto"},
    {Backend::cpu, "cpu"},
    {Backend::cuda, "cuda"},
    {Backend::emulator, "emulator"}}};

/// "auto", "cpu", "cuda" or "emulator".
std::string to_string(Backend b);
/// Parses "auto"/"automatic", "cpu", "cuda", "emulator"; throws Error naming `what` otherwise.
Backend parse_backend(const std::string& text, const std::string& what = "backend");

/// Number of CUDA devices that answer (0 without a GPU, a driver, or a CUDA build).
int cuda_device_count();

/// What a device context (CUDA or emulator) has done since it was created or
/// its counters were reset. A CPU context counts nothing (all zero).
struct DeviceCounters {
  std::uint64_t uploads = 0, upload_bytes = 0;          ///< host -> device copies
  std::uint64_t downloads = 0, download_bytes = 0;      ///< device -> host copies (each waits for the device)
  std::uint64_t device_copies = 0, device_copy_bytes = 0;  ///< device -> device copies
  std::uint64_t allocations = 0;      ///< memory taken from the system (cudaMalloc, arena growth)
  std::uint64_t pool_requests = 0;    ///< buffers served by the stream-ordered pool (never synchronize)
  std::uint64_t synchronizations = 0; ///< host waits for the device, downloads included
  std::uint64_t launches = 0;         ///< kernels and library calls (cuBLAS, CUB) queued
  std::uint64_t peak_bytes = 0;       ///< most device memory held at once (in use or pooled)
  std::uint64_t transfer_bytes() const { return upload_bytes + download_bytes; }
};

/// What a GPU offers, for ratios to its own limits (benchmarks); zeros on the
/// CPU and emulator backends.
struct DeviceInfo {
  std::string name;
  int compute_major = 0, compute_minor = 0;
  int multiprocessors = 0;
  double clock_hz = 0;                  ///< peak SM clock
  double memory_bandwidth = 0;          ///< peak DRAM bytes/s (2 x memory clock x bus width)
  std::size_t memory_bytes = 0;
  std::size_t shared_memory_per_block = 0;  ///< opt-in maximum
};

class Context;
namespace detail {
class Device;
/// The backend table of a context (library internals; opaque to users).
Device& device_of(const Context& ctx);
std::shared_ptr<Device> shared_device_of(const Context& ctx);
}  // namespace detail

/// Owns everything a computation needs on one backend: the backend table
/// (memory pool, stream, cuBLAS handle, device properties on the GPU; the
/// OpenMP thread count on the CPU). It also carries the random seed and the
/// draw counter: every random fill consumes one draw, so consecutive fills
/// differ and a run is reproducible from (seed, sequence of calls).
/// Not copyable; movable. Buffers keep their backend alive, so a particle set
/// may outlive the context that made it.
class Context {
 public:
  /// Backend::automatic picks CUDA when a device answers, else the CPU.
  /// Backend::cuda without a device throws Error. `threads` <= 0 means all
  /// OpenMP threads (CPU and emulator backends).
  static Context create(Backend backend = Backend::automatic, std::uint64_t seed = 0, int threads = 0);

  /// A context on the same backend, stream and memory (sets made by either
  /// belong to both) with its own random stream: seed `seed`, draws from 0.
  Context derive(std::uint64_t seed) const { return Context(device_, seed); }

  /// Mixed into a seed (2^64 / the golden ratio, odd, bits well spread) for a
  /// second stream that must not repeat the draws of the first.
  static constexpr std::uint64_t second_stream_salt = 0x9e3779b97f4a7c15ull;

  Context(Context&&) noexcept;
  Context& operator=(Context&&) noexcept;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context();

  /// Backend::cpu, Backend::cuda or Backend::emulator (never automatic).
  Backend backend() const;
  bool is_cuda() const { return backend() == Backend::cuda; }
  /// True when the data of this context live in (real or emulated) device memory.
  bool on_device() const { return backend() != Backend::cpu; }
  /// OpenMP threads used on the CPU (CPU backend, and the emulator's kernels).
  int threads() const;
  void set_threads(int threads);
  /// Human-readable: backend, device name, compute capability, memory, threads.
  std::string describe() const;

  std::uint64_t seed() const { return seed_; }
  /// Resets the seed and the draw counter.
  void set_seed(std::uint64_t seed) {
    seed_ = seed;
    draw_ = 0;
  }
  /// Returns the current draw counter and advances it (one per random fill).
  std::uint32_t next_draw() { return draw_++; }

  /// Waits for all work queued on this context (counted on device backends).
  void synchronize() const;

  /// The device's properties (CUDA backend; empty otherwise).
  DeviceInfo device_info() const;

  /// Transfer, allocation and synchronization counts (device backends).
  DeviceCounters counters() const;
  void reset_counters();

 private:
  explicit Context(std::shared_ptr<detail::Device> device, std::uint64_t seed);
  friend detail::Device& detail::device_of(const Context&);
  friend std::shared_ptr<detail::Device> detail::shared_device_of(const Context&);
  std::shared_ptr<detail::Device> device_;
  std::uint64_t seed_ = 0;
  std::uint32_t draw_ = 0;
};

}  // namespace flowsampler
