// Google Benchmark micro-benchmark: the engine's inline exp against libmvec's
// vector exp and the scalar libm call, on an L1-resident array.
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "math/fast_exp.hpp"

extern "C" {
#pragma omp declare simd notinbranch
float expf(float);
}

namespace {
template <class F>
void run(benchmark::State& state, F f) {
  std::vector<float> in(4096), out(4096);
  for (std::size_t e = 0; e < in.size(); ++e) in[e] = -20.0f + 40.0f * float(e) / float(in.size());
  for (auto _ : state) {
    f(in.data(), out.data(), in.size());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<long>(in.size()));
}
}  // namespace

static void BM_inline_fast_exp(benchmark::State& s) {
  run(s, [](const float* in, float* out, std::size_t n) {
#pragma omp simd
    for (std::size_t e = 0; e < n; ++e) out[e] = flowsampler::kernels::fast_exp(in[e]);
  });
}
static void BM_libmvec_expf(benchmark::State& s) {
  run(s, [](const float* in, float* out, std::size_t n) {
#pragma omp simd
    for (std::size_t e = 0; e < n; ++e) out[e] = expf(in[e]);
  });
}
static void BM_scalar_expf(benchmark::State& s) {
  run(s, [](const float* in, float* out, std::size_t n) {
    for (std::size_t e = 0; e < n; ++e) out[e] = std::exp(in[e]);
  });
}
BENCHMARK(BM_inline_fast_exp);
BENCHMARK(BM_libmvec_expf);
BENCHMARK(BM_scalar_expf);
BENCHMARK_MAIN();
