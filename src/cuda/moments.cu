#include <vector>

#include "cuda/handles.cuh"
#include "cuda/moments.hpp"
#include "reduce/column_sum.hpp"
#include "simt/thread_context.hpp"

namespace flowsampler::cuda {

template <class Real>
void column_sums(Handles* h, const Real* x, std::size_t n, std::size_t d, double* out) {
  constexpr unsigned block = 256;
  constexpr std::size_t rows_per_block = 64 * block;
  const std::size_t chunks = (n + rows_per_block - 1) / rows_per_block;
  const std::size_t blocks = chunks * d;
  for (std::size_t k = 0; k < d; ++k) out[k] = 0;
  if (blocks == 0) return;
  double* partial = nullptr;
  FLOWSAMPLER_CUDA_TRY(cudaMallocAsync(&partial, blocks * sizeof(double), h->stream));
  kernels::launch_body<kernels::ColumnSumBody, const Real*, std::size_t, std::size_t, std::size_t, double*>
      <<<static_cast<unsigned>(blocks), block, kernels::ColumnSumBody::shared_bytes<Real>(block), h->stream>>>(
          x, n, d, rows_per_block, partial);
  FLOWSAMPLER_CUDA_TRY(cudaGetLastError());
  std::vector<double> host(blocks);
  FLOWSAMPLER_CUDA_TRY(cudaMemcpyAsync(host.data(), partial, blocks * sizeof(double), cudaMemcpyDeviceToHost, h->stream));
  FLOWSAMPLER_CUDA_TRY(cudaFreeAsync(partial, h->stream));
  FLOWSAMPLER_CUDA_TRY(cudaStreamSynchronize(h->stream));
  for (std::size_t b = 0; b < blocks; ++b) out[b % d] += host[b];
}

template void column_sums<float>(Handles*, const float*, std::size_t, std::size_t, double*);
template void column_sums<double>(Handles*, const double*, std::size_t, std::size_t, double*);

}  // namespace flowsampler::cuda
