#pragma once
// The limit of the exp-bound benchmarks: libmvec's vector exp evaluations per
// second on this machine, on [-10, 0] (the range a kernel sum feeds exp; on
// this machine about 5e9/s per thread there but about 1e9/s on [0, 10], where
// libmvec takes a slow path). Link with m and mvec.
#include <cmath>
#include <cstddef>
#include <vector>

#include "bench_util.hpp"

// glibc declares expf/exp vectorizable only under -ffast-math; declare it here
// so that `#pragma omp simd` loops call libmvec (_ZGV*_expf).
extern "C" {
#pragma omp declare simd notinbranch
float expf(float);
#pragma omp declare simd notinbranch
double exp(double);
}

namespace flowsampler::bench {

template <class Real>
Real vec_exp(Real v) {
  if constexpr (sizeof(Real) == 4) return expf(v);
  else return exp(v);
}

/// exp evaluations per second on `threads` threads: libmvec in a simd loop
/// (`vectorized`) or a scalar call through a pointer (the no-vector baseline).
/// Best of `trials` (each ~0.02 s per thread), with their spread: on this
/// shared machine a median of 3 moved 6e9-9e9/s between runs on 2 threads.
template <class Real>
Limit exp_limits(int threads, bool vectorized = true, int trials = 7) {
  const std::size_t len = 4096, rounds = vectorized ? 20000 : 2000;
  Limit lim;
  for (int t = 0; t < trials; ++t) {
    const double s = median_seconds(
        [&] {
#pragma omp parallel num_threads(threads)
          {
            std::vector<Real> in(len), out(len);
            for (std::size_t e = 0; e < len; ++e) in[e] = Real(-10.0 * double(e) / double(len));
            Real (*volatile scalar)(Real) = [](Real v) { return std::exp(v); };
            for (std::size_t r = 0; r < rounds; ++r) {
              if (vectorized) {
#pragma omp simd
                for (std::size_t e = 0; e < len; ++e) out[e] = vec_exp(in[e]);
              } else {
                for (std::size_t e = 0; e < len; ++e) out[e] = scalar(in[e]);
              }
              asm volatile("" : : "r"(out.data()) : "memory");
            }
          }
        },
        1);
    lim.add(double(len) * double(rounds) * threads / s);
  }
  return lim;
}

template <class Real>
double exp_limit(int threads, bool vectorized = true) {
  return exp_limits<Real>(threads, vectorized, vectorized ? 7 : 1).best;
}

/// The exp limit of where a context runs: the GPU's SFU rate on CUDA,
/// libmvec's on `threads` CPU threads otherwise (the emulator runs on the CPU).
template <class Real>
double exp_limit(const Context& ctx, int threads) {
  return ctx.is_cuda() ? gpu_exp_limit(ctx.device_info()) : exp_limit<Real>(threads);
}

}  // namespace flowsampler::bench
