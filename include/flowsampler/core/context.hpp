#pragma once
/// \file Context: the backend, its handles and the random stream state.
#include <cstdint>
#include <memory>
#include <string>

namespace flowsampler {

enum class Backend { automatic, cpu, cuda };

/// "auto", "cpu" or "cuda".
std::string to_string(Backend b);
/// Parses "auto"/"automatic", "cpu", "cuda"; throws Error naming `what` otherwise.
Backend parse_backend(const std::string& text, const std::string& what = "backend");

/// Number of CUDA devices that answer (0 without a GPU, a driver, or a CUDA build).
int cuda_device_count();

/// Owns everything a computation needs on one backend: on the GPU the stream,
/// the cuBLAS handle and the device properties; on the CPU the OpenMP thread
/// count. It also carries the random seed and the draw counter: every random
/// fill consumes one draw, so consecutive fills differ and a run is
/// reproducible from (seed, sequence of calls). Not copyable; movable.
class Context {
 public:
  /// Backend::automatic picks CUDA when a device answers, else the CPU.
  /// Backend::cuda without a device throws Error. `threads` <= 0 means all
  /// OpenMP threads (CPU backend only).
  static Context create(Backend backend = Backend::automatic, std::uint64_t seed = 0,
                        int threads = 0);

  Context(Context&&) noexcept;
  Context& operator=(Context&&) noexcept;
  ~Context();

  /// Backend::cpu or Backend::cuda (never automatic).
  Backend backend() const;
  bool is_cuda() const { return backend() == Backend::cuda; }
  /// OpenMP threads used by the CPU backend.
  int threads() const;
  void set_threads(int threads);
  /// Human-readable: backend, device name, compute capability, memory, threads.
  std::string describe() const;

  std::uint64_t seed() const;
  /// Resets the seed and the draw counter.
  void set_seed(std::uint64_t seed);
  /// Returns the current draw counter and advances it (one per random fill).
  std::uint32_t next_draw();

  /// Waits for all work queued on this context (no-op on the CPU).
  void synchronize() const;

  struct Impl;
  Impl& impl() const { return *impl_; }

 private:
  explicit Context(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace flowsampler
