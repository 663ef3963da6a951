// The device emulator backend: the CUDA backend's orchestration on the CPU.
// Device memory is an arena host code cannot touch (emulator/arena.hpp);
// each kernel, copy and library call opens it for its duration and runs the
// CPU's implementation of the same kernel body; transfers, pool requests,
// allocations and synchronizations are counted exactly as the CUDA backend
// counts them, so tests hold every command to its transfer budget.
#include <cstring>
#include <sstream>

#include "core/pooled_device.hpp"
#include "cpu/kernels.hpp"
#include "emulator/arena.hpp"
#include "flowsampler/core/error.hpp"

namespace flowsampler::detail {

namespace {

// Address space reserved per emulator context; pages are committed as the
// pool grows, so only what a run uses costs memory.
constexpr std::size_t arena_reserve = std::size_t(64) << 30;

class EmulatorDevice final : public PooledDevice {
 public:
  explicit EmulatorDevice(int threads) : arena_(arena_reserve) { set_threads(threads); }
  ~EmulatorDevice() override { trim(); }

  Backend backend() const override { return Backend::emulator; }
  std::string describe() const override {
    std::ostringstream os;
    os << "device emulator on " << threads_ << " OpenMP thread" << (threads_ == 1 ? "" : "s")
       << " (protected arena; transfers, allocations and syncs counted)";
    return os.str();
  }

  void upload(void* dst, const void* src, std::size_t bytes) override {
    expect_device(dst, "upload destination");
    FLOWSAMPLER_EXPECTS(!arena_.contains(src), "emulator: an upload from device memory (use a device copy)");
    emulated([&] { std::memcpy(dst, src, bytes); });
    count_upload(bytes);
  }
  void download(void* dst, const void* src, std::size_t bytes) override {
    expect_device(src, "download source");
    FLOWSAMPLER_EXPECTS(!arena_.contains(dst), "emulator: a download into device memory (use a device copy)");
    emulated([&] { std::memcpy(dst, src, bytes); });
    count_download(bytes);
  }
  void copy(void* dst, const void* src, std::size_t bytes) override {
    expect_device(dst, "copy destination");
    expect_device(src, "copy source");
    emulated([&] { std::memmove(dst, src, bytes); });
    count_copy(bytes);
  }
  void zero(void* dst, std::size_t bytes) override {
    expect_device(dst, "memset destination");
    emulated([&] { std::memset(dst, 0, bytes); });
    count_launch();
  }
  void synchronize() override { count_sync(); }
  bool owns(const void* p) const override { return arena_.contains(p); }

  void for_each(const ForEach& k) override {
    emulated([&] { k.host(k.f, k.n, threads_); });
    count_launch();
  }
  void reduce(const Reduce& k, double* out) override {
    emulated([&] { k.host(k.f, k.n, k.width, k.max, threads_, out); });
    count_launch();
    count_download(static_cast<std::size_t>(k.width) * sizeof(double));
  }
  void pairwise(const Pairwise<float>& k) override { run_pairwise(k); }
  void pairwise(const Pairwise<double>& k) override { run_pairwise(k); }
  void gemm(const Gemm<float>& g) override { run_gemm(g); }
  void gemm(const Gemm<double>& g) override { run_gemm(g); }
  void sort_segments(float* keys, std::size_t s, std::size_t len) override { run_sort(keys, s, len); }
  void sort_segments(double* keys, std::size_t s, std::size_t len) override { run_sort(keys, s, len); }

 private:
  void* raw_allocate(std::size_t bytes) override { return arena_.allocate(bytes); }
  void raw_release(void* p) noexcept override { arena_.release(p); }

  template <class F>
  void emulated(F&& f) {
    const emulator::Arena::Access open(arena_);
    f();
  }
  // Kernels and copies take device pointers: a host pointer here is a bug
  // that a GPU would turn into an illegal address.
  void expect_device(const void* p, const char* what) const {
    if (p && !arena_.contains(p))
      FLOWSAMPLER_FAIL("emulator: the " << what << " is not device memory of this context (a host pointer, or "
                                           "another context's memory, passed to a device operation)");
  }
  template <class Real>
  void run_pairwise(const Pairwise<Real>& k) {
    const auto& a = k.args;
    expect_device(a.x, "pairwise x"), expect_device(a.y, "pairwise y"), expect_device(a.py, "pairwise payload");
    expect_device(a.out, "pairwise output"), expect_device(a.lse, "pairwise lse"), expect_device(a.idx, "pairwise index");
    emulated([&] { k.host(k.op, a, threads_); });
    count_launch();
  }
  template <class Real>
  void run_gemm(const Gemm<Real>& g) {
    expect_device(g.a, "gemm A"), expect_device(g.b, "gemm B"), expect_device(g.c, "gemm C");
    emulated([&] { cpu::gemm(g, threads_); });
    count_launch();
  }
  template <class Real>
  void run_sort(Real* keys, std::size_t s, std::size_t len) {
    expect_device(keys, "sort keys");
    emulated([&] { cpu::sort_segments(keys, s, len, threads_); });
    count_launch();
  }

  emulator::Arena arena_;
};

}  // namespace

std::shared_ptr<Device> make_emulator_device(int threads) { return std::make_shared<EmulatorDevice>(threads); }

}  // namespace flowsampler::detail
