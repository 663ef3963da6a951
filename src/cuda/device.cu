// The CUDA backend of the table: one non-blocking stream per context, every
// kernel, copy and library call queued on it, device memory from the shared
// caching pool (core/pooled_device.hpp; cudaMalloc only when it grows), and
// the host waiting only where it needs a value (downloads, reductions,
// synchronize()). Counted exactly as the emulator counts.
#include <cub/device/device_segmented_sort.cuh>

#include <sstream>

#include "cloud/segments.hpp"
#include "core/pooled_device.hpp"
#include "cuda/handles.cuh"
#include "cuda/launch.cuh"

namespace flowsampler::detail {

namespace {

class CudaDevice final : public PooledDevice {
 public:
  CudaDevice(int dev, int threads) {
    set_threads(threads);
    h_.dev = dev;
    h_.memory = this;
    FLOWSAMPLER_CUDA_TRY(cudaSetDevice(dev));
    int smem = 0;
    FLOWSAMPLER_CUDA_TRY(cudaDeviceGetAttribute(&smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
    FLOWSAMPLER_CUDA_TRY(cudaDeviceGetAttribute(&h_.sms, cudaDevAttrMultiProcessorCount, dev));
    h_.max_shared_per_block = static_cast<std::size_t>(smem);
    try {
      FLOWSAMPLER_CUDA_TRY(cudaStreamCreateWithFlags(&h_.stream, cudaStreamNonBlocking));
      FLOWSAMPLER_CUBLAS_TRY(cublasCreate(&h_.blas));
      FLOWSAMPLER_CUBLAS_TRY(cublasSetStream(h_.blas, h_.stream));
    } catch (...) {
      destroy();
      throw;
    }
  }
  ~CudaDevice() override {
    if (h_.stream) cudaStreamSynchronize(h_.stream);
    trim();
    destroy();
  }

  Backend backend() const override { return Backend::cuda; }
  std::string describe() const override {
    std::ostringstream os;
    os << "device " << h_.dev << " (" << cuda::describe_device(h_.dev) << ")";
    return os.str();
  }

  DeviceInfo info() const override {
    DeviceInfo i;
    cudaDeviceProp p{};
    FLOWSAMPLER_CUDA_TRY(cudaGetDeviceProperties(&p, h_.dev));
    int clock_khz = 0, mem_khz = 0, bus_bits = 0;
    FLOWSAMPLER_CUDA_TRY(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, h_.dev));
    FLOWSAMPLER_CUDA_TRY(cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, h_.dev));
    FLOWSAMPLER_CUDA_TRY(cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, h_.dev));
    i.name = p.name;
    i.compute_major = p.major, i.compute_minor = p.minor;
    i.multiprocessors = h_.sms;
    i.clock_hz = 1e3 * clock_khz;
    i.memory_bandwidth = 2.0 * 1e3 * mem_khz * (bus_bits / 8.0);
    i.memory_bytes = p.totalGlobalMem;
    i.shared_memory_per_block = h_.max_shared_per_block;
    return i;
  }

  // Pageable sources may be reused as soon as cudaMemcpyAsync returns (the
  // driver stages them), so an upload needs no wait; a download does.
  void upload(void* dst, const void* src, std::size_t bytes) override {
    FLOWSAMPLER_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, h_.stream));
    count_upload(bytes);
  }
  void download(void* dst, const void* src, std::size_t bytes) override {
    FLOWSAMPLER_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, h_.stream));
    FLOWSAMPLER_CUDA_TRY(cudaStreamSynchronize(h_.stream));
    count_download(bytes);
  }
  void copy(void* dst, const void* src, std::size_t bytes) override {
    FLOWSAMPLER_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, h_.stream));
    count_copy(bytes);
  }
  void zero(void* dst, std::size_t bytes) override {
    FLOWSAMPLER_CUDA_TRY(cudaMemsetAsync(dst, 0, bytes, h_.stream));
    count_launch();
  }
  void synchronize() override {
    FLOWSAMPLER_CUDA_TRY(cudaStreamSynchronize(h_.stream));
    count_sync();
  }
  bool owns(const void* p) const override {
    cudaPointerAttributes a{};
    if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
      cudaGetLastError();
      return false;
    }
    return a.type == cudaMemoryTypeDevice;
  }

  void for_each(const ForEach& k) override {
    expect_entry(k.cuda != nullptr);
    k.cuda(&h_, k.f, k.n);
    count_launch();
  }
  void reduce(const Reduce& k, double* out) override {
    expect_entry(k.cuda != nullptr);
    const Scratch scratch(*this, cuda_reduce_scratch(k.width) * sizeof(double));
    k.cuda(&h_, k.f, k.n, k.width, k.max, static_cast<double*>(scratch.p));
    count_launch();
    download(out, scratch.p, static_cast<std::size_t>(k.width) * sizeof(double));
  }
  void pairwise(const Pairwise<float>& k) override { run_pairwise(k); }
  void pairwise(const Pairwise<double>& k) override { run_pairwise(k); }
  void gemm(const Gemm<float>& g) override {
    FLOWSAMPLER_CUBLAS_TRY(cublasSgemm(h_.blas, op(g.trans_a), op(g.trans_b), g.m, g.n, g.k, &g.alpha, g.a, g.lda, g.b,
                                       g.ldb, &g.beta, g.c, g.ldc));
    count_launch();
  }
  void gemm(const Gemm<double>& g) override {
    FLOWSAMPLER_CUBLAS_TRY(cublasDgemm(h_.blas, op(g.trans_a), op(g.trans_b), g.m, g.n, g.k, &g.alpha, g.a, g.lda, g.b,
                                       g.ldb, &g.beta, g.c, g.ldc));
    count_launch();
  }
  void sort_segments(float* keys, std::size_t s, std::size_t len) override { run_sort(keys, s, len); }
  void sort_segments(double* keys, std::size_t s, std::size_t len) override { run_sort(keys, s, len); }

 private:
  void* raw_allocate(std::size_t bytes) override {
    void* p = nullptr;
    if (cudaMalloc(&p, bytes) != cudaSuccess) {
      cudaGetLastError();  // out of memory is an answer: the pool trims and retries
      return nullptr;
    }
    return p;
  }
  void raw_release(void* p) noexcept override { cudaFree(p); }

  static cublasOperation_t op(bool t) { return t ? CUBLAS_OP_T : CUBLAS_OP_N; }
  static void expect_entry(bool ok) {
    if (!ok) FLOWSAMPLER_FAIL("a kernel without a CUDA build was launched on a CUDA context (compiled without FLOWSAMPLER_HAVE_CUDA)");
  }
  void destroy() noexcept {
    if (h_.blas) cublasDestroy(h_.blas), h_.blas = nullptr;
    if (h_.stream) cudaStreamDestroy(h_.stream), h_.stream = nullptr;
  }

  using Scratch = DeviceScratch;

  template <class Real>
  void run_pairwise(const Pairwise<Real>& k) {
    expect_entry(k.cuda != nullptr);
    kernels::PairwiseDeviceArgs<Real> a = k.args;
    const Scratch carry(*this, k.scratch_values * sizeof(double)), tacc(*this, k.scratch_values * sizeof(Real));
    a.carry = static_cast<double*>(carry.p);
    a.tacc = static_cast<Real*>(tacc.p);
    k.cuda(&h_, k.op, a);
    count_launch();
  }

  template <class Real>
  void run_sort(Real* keys, std::size_t segments, std::size_t length) {
    const std::size_t total = segments * length;
    const Scratch offsets(*this, (segments + 1) * sizeof(long long));
    const kernels::SegmentOffsets f{static_cast<long long*>(offsets.p), static_cast<long long>(length)};
    cuda::for_each<kernels::SegmentOffsets>(&h_, &f, segments + 1);
    count_launch();
    const long long* begin = static_cast<const long long*>(offsets.p);
    std::size_t temp_bytes = 0;
    FLOWSAMPLER_CUDA_TRY(cub::DeviceSegmentedSort::SortKeys(nullptr, temp_bytes, keys, keys, static_cast<long long>(total),
                                                             static_cast<long long>(segments), begin, begin + 1, h_.stream));
    const std::size_t sorted_at = (temp_bytes + 255) / 256 * 256;
    const Scratch temp(*this, sorted_at + total * sizeof(Real));
    Real* sorted = reinterpret_cast<Real*>(static_cast<char*>(temp.p) + sorted_at);
    FLOWSAMPLER_CUDA_TRY(cub::DeviceSegmentedSort::SortKeys(temp.p, temp_bytes, keys, sorted, static_cast<long long>(total),
                                                             static_cast<long long>(segments), begin, begin + 1, h_.stream));
    count_launch();
    copy(keys, sorted, total * sizeof(Real));
  }

  cuda::Handles h_;
};

}  // namespace

std::shared_ptr<Device> make_cuda_device(int device, int threads) { return std::make_shared<CudaDevice>(device, threads); }

}  // namespace flowsampler::detail

FLOWSAMPLER_CUDA_FOR_EACH(flowsampler::kernels::SegmentOffsets)
