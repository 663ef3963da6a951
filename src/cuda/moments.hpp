#pragma once
#include <cstddef>

namespace flowsampler::cuda {
struct Handles;
/// `x` is device memory, `out` host memory (d values).
template <class Real>
void column_sums(Handles* h, const Real* x, std::size_t n, std::size_t d, double* out);
}  // namespace flowsampler::cuda
