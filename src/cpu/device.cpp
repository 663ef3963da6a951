// The CPU backend of the table: host memory from the host pool, copies are
// memcpy, kernels are the host loops of their bundles (OpenMP), matrix work
// is OpenBLAS. Nothing is counted: there is no device to move data to.
#include <omp.h>

#include <cstring>
#include <sstream>

#include "core/device.hpp"
#include "core/host_pool.hpp"
#include "cpu/kernels.hpp"
#include "core/cuda_runtime.hpp"
#include "flowsampler/core/version.hpp"

namespace flowsampler::detail {

void Device::set_threads(int threads) { threads_ = threads > 0 ? threads : std::max(1, omp_get_max_threads()); }

namespace {

class CpuDevice final : public Device {
 public:
  explicit CpuDevice(int threads) { set_threads(threads); }
  Backend backend() const override { return Backend::cpu; }
  std::string describe() const override {
    std::ostringstream os;
    os << threads_ << " OpenMP thread" << (threads_ == 1 ? "" : "s")
       << (!built_with_cuda()            ? " (built without CUDA)"
           : cuda::device_count() == 0 ? " (CUDA compiled in, no device answers)"
                                       : " (CUDA device present, CPU chosen)");
    return os.str();
  }

  void* allocate(std::size_t bytes) override { return cpu::host_allocate(bytes); }
  void release(void* p) noexcept override { cpu::host_release(p); }
  void upload(void* dst, const void* src, std::size_t bytes) override { std::memcpy(dst, src, bytes); }
  void download(void* dst, const void* src, std::size_t bytes) override { std::memcpy(dst, src, bytes); }
  void copy(void* dst, const void* src, std::size_t bytes) override { std::memmove(dst, src, bytes); }
  void zero(void* dst, std::size_t bytes) override { std::memset(dst, 0, bytes); }
  void synchronize() override {}
  bool owns(const void*) const override { return false; }

  void for_each(const ForEach& k) override { k.host(k.f, k.n, threads_); }
  void reduce(const Reduce& k, double* out) override { k.host(k.f, k.n, k.width, k.max, threads_, out); }
  void pairwise(const Pairwise<float>& k) override { k.host(k.op, k.args, threads_); }
  void pairwise(const Pairwise<double>& k) override { k.host(k.op, k.args, threads_); }
  void gemm(const Gemm<float>& g) override { cpu::gemm(g, threads_); }
  void gemm(const Gemm<double>& g) override { cpu::gemm(g, threads_); }
  void sort_segments(float* keys, std::size_t s, std::size_t len) override { cpu::sort_segments(keys, s, len, threads_); }
  void sort_segments(double* keys, std::size_t s, std::size_t len) override { cpu::sort_segments(keys, s, len, threads_); }
};

}  // namespace

std::shared_ptr<Device> make_cpu_device(int threads) { return std::make_shared<CpuDevice>(threads); }

}  // namespace flowsampler::detail
