#pragma once
// The host-side face of the CUDA runtime, free of CUDA types so that plain C++
// translation units can call it. Defined in src/cuda/runtime.cu when the CUDA
// backend is built, and by src/cpu/no_cuda.cpp (answers "no device") otherwise.
#include <string>

namespace flowsampler::cuda {

int device_count();
/// Name, compute capability, memory and SMs of device `dev`.
std::string describe_device(int dev);

}  // namespace flowsampler::cuda
