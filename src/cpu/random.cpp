#include "cpu/random.hpp"

#include "random/philox.hpp"

namespace flowsampler::cpu {

template <class Real>
void fill_random(int threads, Real* out, std::size_t n, std::size_t d, std::uint64_t seed,
                 std::uint32_t draw, int kind) {
  const long long total = static_cast<long long>(n * d);
#pragma omp parallel for num_threads(threads) schedule(static) if (total > 16384)
  for (long long e = 0; e < total; ++e) {
    const std::size_t k = static_cast<std::size_t>(e) / n, i = static_cast<std::size_t>(e) % n;
    out[e] = kind == 0 ? kernels::uniform_coordinate<Real>(seed, draw, i, static_cast<std::uint32_t>(k))
                       : kernels::normal_coordinate<Real>(seed, draw, i, static_cast<std::uint32_t>(k));
  }
}

template void fill_random<float>(int, float*, std::size_t, std::size_t, std::uint64_t, std::uint32_t, int);
template void fill_random<double>(int, double*, std::size_t, std::size_t, std::uint64_t, std::uint32_t, int);

}  // namespace flowsampler::cpu
