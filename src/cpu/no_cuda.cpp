// Stands in for the CUDA backend in CPU-only builds: there is never a device.
#include "core/device.hpp"
#include "core/cuda_runtime.hpp"
#include "flowsampler/core/error.hpp"

namespace flowsampler {
namespace cuda {
int device_count() { return 0; }
std::string describe_device(int) { FLOWSAMPLER_FAIL("this build has no CUDA backend"); }
}  // namespace cuda

namespace detail {
std::shared_ptr<Device> make_cuda_device(int, int) {
  FLOWSAMPLER_FAIL("this build of flowsampler has no CUDA backend (configured with FLOWSAMPLER_CUDA=OFF)");
}
}  // namespace detail
}  // namespace flowsampler
