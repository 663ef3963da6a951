#include "cuda/handles.cuh"
#include "cuda/random.hpp"
#include "random/philox.hpp"

namespace flowsampler::cuda {
namespace {
template <class Real>
__global__ void fill_random_kernel(Real* out, std::size_t n, std::size_t total, std::uint64_t seed,
                                   std::uint32_t draw, int kind) {
  for (std::size_t e = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; e < total;
       e += std::size_t(gridDim.x) * blockDim.x) {
    const std::size_t k = e / n, i = e % n;
    out[e] = kind == 0 ? kernels::uniform_coordinate<Real>(seed, draw, i, static_cast<std::uint32_t>(k))
                       : kernels::normal_coordinate<Real>(seed, draw, i, static_cast<std::uint32_t>(k));
  }
}
}  // namespace

template <class Real>
void fill_random(Handles* h, Real* out, std::size_t n, std::size_t d, std::uint64_t seed,
                 std::uint32_t draw, int kind) {
  const std::size_t total = n * d;
  if (total == 0) return;
  const unsigned threads = 256;
  const unsigned blocks = static_cast<unsigned>(std::min<std::size_t>((total + threads - 1) / threads, 65535));
  fill_random_kernel<Real><<<blocks, threads, 0, h->stream>>>(out, n, total, seed, draw, kind);
  FLOWSAMPLER_CUDA_TRY(cudaGetLastError());
}

template void fill_random<float>(Handles*, float*, std::size_t, std::size_t, std::uint64_t, std::uint32_t, int);
template void fill_random<double>(Handles*, double*, std::size_t, std::size_t, std::uint64_t, std::uint32_t, int);

}  // namespace flowsampler::cuda
