#pragma once
// Calls f(std::integral_constant<int, D>) with D the compile-time specialization
// for dimension d (1, 2, 3, 4, 8, 16, 32, 64), or D = 0, the runtime-d path.
#include <type_traits>

namespace flowsampler::kernels {

template <class F>
void dispatch_dim(int d, F&& f) {
  switch (d) {
    case 1: f(std::integral_constant<int, 1>{}); break;
    case 2: f(std::integral_constant<int, 2>{}); break;
    case 3: f(std::integral_constant<int, 3>{}); break;
    case 4: f(std::integral_constant<int, 4>{}); break;
    case 8: f(std::integral_constant<int, 8>{}); break;
    case 16: f(std::integral_constant<int, 16>{}); break;
    case 32: f(std::integral_constant<int, 32>{}); break;
    case 64: f(std::integral_constant<int, 64>{}); break;
    default: f(std::integral_constant<int, 0>{}); break;
  }
}

}  // namespace flowsampler::kernels
