#pragma once
// Context internals shared by the host orchestration and the backends.
#include <cstdint>

#include "core/cuda_runtime.hpp"
#include "flowsampler/core/context.hpp"

namespace flowsampler {

struct Context::Impl {
  Backend backend = Backend::cpu;
  int threads = 1;
  std::uint64_t seed = 0;
  std::uint32_t draw = 0;
  int device = -1;
  cuda::Handles* cuda = nullptr;  // owned; null on the CPU backend

  ~Impl() { cuda::destroy_handles(cuda); }
};

}  // namespace flowsampler
