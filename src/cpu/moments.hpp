#pragma once
#include <cstddef>

namespace flowsampler::cpu {
template <class Real>
void column_sums(int threads, const Real* x, std::size_t n, std::size_t d, double* out);
}
