#include <sstream>

#include "cuda/check.cuh"
#include "cuda/handles.cuh"

namespace flowsampler::cuda {

int device_count() {
  int n = 0;
  // No driver or no device is an answer ("none"), not an error.
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return n;
}

std::string describe_device(int dev) {
  cudaDeviceProp p{};
  FLOWSAMPLER_CUDA_TRY(cudaGetDeviceProperties(&p, dev));
  std::ostringstream os;
  os << p.name << ", compute capability " << p.major << "." << p.minor << ", "
     << (p.totalGlobalMem >> 20) << " MiB, " << p.multiProcessorCount << " SMs";
  return os.str();
}

Handles* create_handles(int dev, unsigned long long seed) {
  auto* h = new Handles{};
  h->dev = dev;
  try {
    FLOWSAMPLER_CUDA_TRY(cudaSetDevice(dev));
    FLOWSAMPLER_CUDA_TRY(cudaStreamCreateWithFlags(&h->stream, cudaStreamNonBlocking));
    FLOWSAMPLER_CUBLAS_TRY(cublasCreate(&h->blas));
    FLOWSAMPLER_CUBLAS_TRY(cublasSetStream(h->blas, h->stream));
    FLOWSAMPLER_CURAND_TRY(curandCreateGenerator(&h->rng, CURAND_RNG_PSEUDO_PHILOX4_32_10));
    FLOWSAMPLER_CURAND_TRY(curandSetPseudoRandomGeneratorSeed(h->rng, seed));
    FLOWSAMPLER_CURAND_TRY(curandSetStream(h->rng, h->stream));
  } catch (...) {
    destroy_handles(h);
    throw;
  }
  return h;
}

void destroy_handles(Handles* h) noexcept {
  if (!h) return;
  if (h->rng) curandDestroyGenerator(h->rng);
  if (h->blas) cublasDestroy(h->blas);
  if (h->stream) cudaStreamDestroy(h->stream);
  delete h;
}

void synchronize(Handles* h) { FLOWSAMPLER_CUDA_TRY(cudaStreamSynchronize(h->stream)); }

void* malloc_device(std::size_t bytes) {
  void* p = nullptr;
  if (bytes) FLOWSAMPLER_CUDA_TRY(cudaMalloc(&p, bytes));
  return p;
}

void free_device(void* p) noexcept {
  if (p) cudaFree(p);
}

void copy(void* dst, bool dst_device, const void* src, bool src_device, std::size_t bytes) {
  if (!bytes) return;
  const cudaMemcpyKind kind = dst_device ? (src_device ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                         : (src_device ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  FLOWSAMPLER_CUDA_TRY(cudaMemcpy(dst, src, bytes, kind));
}

}  // namespace flowsampler::cuda
