#include <sstream>

#include "cuda/check.cuh"
#include "core/cuda_runtime.hpp"

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
  os << p.name << ", compute capability " << p.major << "." << p.minor << ", " << (p.totalGlobalMem >> 20) << " MiB, "
     << p.multiProcessorCount << " SMs";
  return os.str();
}

}  // namespace flowsampler::cuda
