#pragma once
// The backend table (DESIGN.md section 2): everything the host orchestration
// asks of a backend. The CPU, CUDA and emulator backends each implement it;
// library code reaches it through detail::device_of(ctx) and the typed
// helpers of core/launch.hpp, and never tests which backend it has.
//
// Kernels arrive as bundles (ForEach, Reduce, Pairwise) carrying both entry
// points of one kernel body: the host loop (CPU backend, emulator) and the
// CUDA launcher (null in a build without CUDA). Each backend calls its own.
#include <cstddef>
#include <cstdint>
#include <string>

#include "flowsampler/core/buffer.hpp"
#include "flowsampler/core/context.hpp"
#include "pairwise/body.hpp"
#include "reduce/fold.hpp"

namespace flowsampler::cuda {
struct Handles;
}

namespace flowsampler::detail {

/// A kernel over the indices i < n (kernels/cloud: elementwise maps).
struct ForEach {
  void (*host)(const void* f, std::size_t n, int threads);
  void (*cuda)(cuda::Handles* h, const void* f, std::size_t n);
  const void* f;
  std::size_t n;
};

/// A reduction over i < n of `width` doubles per index (sum, or max when
/// `max`), returned to the host: the one way a device value reaches the host
/// in the middle of a run (a scalar read).
struct Reduce {
  void (*host)(const void* f, std::size_t n, int width, bool max, int threads, double* out);
  /// Writes the `width` results to `scratch` (device memory of
  /// cuda_reduce_scratch(width) doubles).
  void (*cuda)(cuda::Handles* h, const void* f, std::size_t n, int width, bool max, double* scratch);
  const void* f;
  std::size_t n;
  int width;
  bool max;
};

/// Most blocks of a device reduction, and the doubles of scratch it needs.
constexpr unsigned reduce_max_blocks = 1024;
using kernels::reduce_max_width;
inline std::size_t cuda_reduce_scratch(int width) { return (reduce_max_blocks + 1) * static_cast<std::size_t>(width); }

/// One pairwise reduction of the engine (kernels/pairwise). `scratch_values`:
/// the n x p lane state the runtime-d device path keeps in memory (0 otherwise);
/// the device backends fill args.carry and args.tacc from their pool.
template <class Real>
struct Pairwise {
  void (*host)(const void* op, const kernels::PairwiseDeviceArgs<Real>& a, int threads);
  void (*cuda)(cuda::Handles* h, const void* op, const kernels::PairwiseDeviceArgs<Real>& a);
  const void* op;
  kernels::PairwiseDeviceArgs<Real> args;
  std::size_t scratch_values;
};

/// C = alpha op(A) op(B) + beta C, column-major (BLAS conventions).
template <class Real>
struct Gemm {
  bool trans_a, trans_b;
  int m, n, k;
  Real alpha;
  const Real* a;
  int lda;
  const Real* b;
  int ldb;
  Real beta;
  Real* c;
  int ldc;
};

class Device {
 public:
  virtual ~Device() = default;
  Device() = default;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  virtual Backend backend() const = 0;
  Memory memory() const { return backend() == Backend::cpu ? Memory::host : Memory::device; }
  int threads() const { return threads_; }
  void set_threads(int threads);
  virtual std::string describe() const = 0;
  virtual DeviceInfo info() const { return {}; }

  // Memory: blocks from the backend's stream-ordered pool; copies on its stream.
  virtual void* allocate(std::size_t bytes) = 0;
  virtual void release(void* p) noexcept = 0;
  virtual void upload(void* dst, const void* src, std::size_t bytes) = 0;
  /// Waits for the device: the host needs the bytes.
  virtual void download(void* dst, const void* src, std::size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, std::size_t bytes) = 0;
  virtual void zero(void* dst, std::size_t bytes) = 0;
  virtual void synchronize() = 0;
  /// True when p points into memory this backend owns (device backends).
  virtual bool owns(const void* p) const = 0;

  // Kernels, queued in order on the backend's stream.
  virtual void for_each(const ForEach& k) = 0;
  virtual void reduce(const Reduce& k, double* host_out) = 0;
  virtual void pairwise(const Pairwise<float>& k) = 0;
  virtual void pairwise(const Pairwise<double>& k) = 0;
  virtual void gemm(const Gemm<float>& g) = 0;
  virtual void gemm(const Gemm<double>& g) = 0;
  /// Sorts `segments` consecutive runs of `length` keys each, ascending.
  virtual void sort_segments(float* keys, std::size_t segments, std::size_t length) = 0;
  virtual void sort_segments(double* keys, std::size_t segments, std::size_t length) = 0;

  DeviceCounters counters() const { return counters_; }
  void reset_counters() { counters_ = DeviceCounters{}; }

 protected:
  DeviceCounters counters_;
  int threads_ = 1;
};

/// A block of a device's pool for the length of a scope. Released at its
/// end, stream-ordered: work queued later on the stream reuses it only after
/// the work that used it, so kernels queued in the scope may still run.
struct DeviceScratch {
  Device& dev;
  void* p;
  DeviceScratch(Device& d, std::size_t bytes) : dev(d), p(d.allocate(bytes)) {}
  ~DeviceScratch() { dev.release(p); }
  DeviceScratch(const DeviceScratch&) = delete;
  DeviceScratch& operator=(const DeviceScratch&) = delete;
};

/// The backends (src/cpu, src/emulator, src/cuda; the CUDA one throws in a
/// build without CUDA).
std::shared_ptr<Device> make_cpu_device(int threads);
std::shared_ptr<Device> make_emulator_device(int threads);
std::shared_ptr<Device> make_cuda_device(int device, int threads);

}  // namespace flowsampler::detail
