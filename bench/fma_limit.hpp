#pragma once
// The FMA limit of the wide pairwise cases: fused multiply-adds per second on
// `threads` threads, from independent chains in registers (no memory traffic),
// in the same lane-loop shape as the engine's kernels (an outer simd loop over
// lanes, the chains inside), so that the compiler's vector width is the one
// the engine gets. Best of `trials`, with the spread of the trials.
#include <algorithm>
#include <chrono>
#include <vector>

#include "bench_util.hpp"

namespace flowsampler::bench {

template <class Real>
Limit fma_limit(int threads, int trials = 5) {
  constexpr int lanes = 64, chains = 12;
  const long rounds = 200000;
  Limit lim;
  for (int t = 0; t < trials; ++t) {
    const auto start = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads)
    {
      std::vector<Real> in(lanes), out(lanes);
      for (int l = 0; l < lanes; ++l) in[l] = Real(1) + Real(l) * Real(1e-3);
      const Real a = Real(0.999999), b = Real(1e-7);
#pragma omp simd
      for (int l = 0; l < lanes; ++l) {
        Real c[chains];
        for (int k = 0; k < chains; ++k) c[k] = in[l] + Real(k);
        for (long r = 0; r < rounds; ++r)
          for (int k = 0; k < chains; ++k) c[k] = c[k] * a + b;
        Real s = 0;
        for (int k = 0; k < chains; ++k) s += c[k];
        out[l] = s;
      }
      asm volatile("" : : "r"(out.data()) : "memory");
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rate = double(lanes) * chains * double(rounds) * threads / s;
    lim.add(rate);
  }
  return lim;
}

}  // namespace flowsampler::bench
