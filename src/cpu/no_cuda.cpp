// Stands in for src/cuda/runtime.cu in CPU-only builds: there is never a device.
#include "cuda/runtime.hpp"
#include "flowsampler/core/error.hpp"

namespace flowsampler::cuda {

int device_count() { return 0; }
std::string describe_device(int) { FLOWSAMPLER_FAIL("this build has no CUDA backend"); }
struct Handles {};
Handles* create_handles(int, unsigned long long) {
  FLOWSAMPLER_FAIL("this build of flowsampler has no CUDA backend (configured with FLOWSAMPLER_CUDA=OFF)");
}
void destroy_handles(Handles*) noexcept {}
void synchronize(Handles*) {}
void* malloc_device(std::size_t) { FLOWSAMPLER_FAIL("this build has no CUDA backend: no device memory"); }
void free_device(void*) noexcept {}
void copy(void*, bool, const void*, bool, std::size_t) {
  FLOWSAMPLER_FAIL("this build has no CUDA backend: no device memory");
}

}  // namespace flowsampler::cuda
