#include "cpu/moments.hpp"

namespace flowsampler::cpu {

template <class Real>
void column_sums(int threads, const Real* x, std::size_t n, std::size_t d, double* out) {
  for (std::size_t k = 0; k < d; ++k) {
    const Real* col = x + k * n;
    const long long nn = static_cast<long long>(n);
    double s = 0;
#pragma omp parallel for simd num_threads(threads) reduction(+ : s) schedule(static) if (nn > 65536)
    for (long long i = 0; i < nn; ++i) s += static_cast<double>(col[i]);
    out[k] = s;
  }
}

template void column_sums<float>(int, const float*, std::size_t, std::size_t, double*);
template void column_sums<double>(int, const double*, std::size_t, std::size_t, double*);

}  // namespace flowsampler::cpu
