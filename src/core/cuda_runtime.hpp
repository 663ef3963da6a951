#pragma once
// What core and the backends ask of the CUDA runtime (its host-side face), free of CUDA types so that plain C++
// translation units can call it. Defined in src/cuda/runtime.cu when the CUDA
// backend is built, and by src/cpu/no_cuda.cpp (answers "no device") otherwise.
#include <string>

namespace flowsampler::cuda {

int device_count();
/// Name, compute capability, memory and SMs of device `dev`.
std::string describe_device(int dev);

}  // namespace flowsampler::cuda
