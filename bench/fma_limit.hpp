#pragma once
// The FMA limit of the wide pairwise cases: fused multiply-adds per second on
// `threads` threads, from independent chains in registers (no memory traffic),
// in the same lane-loop shape as the engine's kernels (an outer simd loop over
// lanes, the chains inside), so that the compiler's vector width is the one
// the engine gets. Best of `trials`, with the spread of the trials.
//
// The limit is the larger of the threads' joint rate and `threads` times one
// thread's rate. On this VM (2 vCPUs, 2 cores) the joint rate of 2 threads of
// pure FMA chains read 4.6e10 FMA/s in two bench_pairwise runs of three and
// 9.1e10 in the third (one thread: 4.6e10), while the engine's own rates were
// the same in all three: taken alone, the joint rate halved the limit and
// doubled every ratio in those runs.
#include <algorithm>
#include <chrono>
#include <vector>

#include "bench_util.hpp"

namespace flowsampler::bench {

namespace detail {
/// FMAs per second of one timed trial on `threads` threads.
template <class Real>
double fma_rate(int threads) {
  constexpr int lanes = 64, chains = 12;
  const long rounds = 200000;
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
  return double(lanes) * chains * double(rounds) * threads / s;
}
}  // namespace detail

template <class Real>
Limit fma_limit(int threads, int trials = 5) {
  Limit joint;
  double one = 0;
  for (int t = 0; t < trials; ++t) {
    joint.add(detail::fma_rate<Real>(threads));
    if (threads > 1) one = std::max(one, detail::fma_rate<Real>(1));
  }
  joint.best = std::max(joint.best, threads * one);
  return joint;
}

}  // namespace flowsampler::bench
