// End to end sampling, the integrators issue's case: the 8-Gaussian ring
// (d = 2, K = 8 isotropic), OU probability flow (vp path, T = 5), heun with
// 100 steps, N = 2^20, float, 2 threads, from fresh noise to the samples
// (no file I/O). Rate: particle-steps per second; limit: libmvec's exp rate
// over the K exps of each of the 2 velocity evaluations of a heun step.
// On a GPU the limit is the SFU's exp rate (bench_util.hpp).
// Usage: bench_sample [--backend cpu|cuda|emulator] [--threads T]
#include <cstdlib>

#include "bench_util.hpp"
#include "exp_limit.hpp"
#include "flowsampler/fields/gmm_field.hpp"
#include "flowsampler/integrate/integrate.hpp"
#include "flowsampler/targets/spec.hpp"

namespace fs = flowsampler;

int main(int argc, char** argv) {
  const fs::bench::Args args = fs::bench::parse_args(argc, argv).positional_threads();
  const int threads = args.threads;
  const std::size_t n = std::size_t(1) << 20;
  const int steps = 100, K = 8;
  fs::targets::GaussianMixture ring(2);
  for (int k = 0; k < K; ++k) ring.add(1.0, {4 * std::cos(2 * M_PI * k / K), 4 * std::sin(2 * M_PI * k / K)}, {0.09});
  const fs::fields::GmmFlow<float> flow(fs::fields::GmmField(ring), fs::paths::make_path("vp", {5.0}));
  const auto grid = fs::integrate::uniform_grid(0.0, 1.0, steps);
  fs::integrate::Report r;
  const double s = fs::bench::median_seconds(
      [&] {
        fs::Context ctx = fs::Context::create(args.backend, 1, threads);
        const auto p0 = flow.path()->at(0.0);
        auto z = fs::targets::sample_initial<float>(ctx, ring, fs::targets::Noise::isotropic(), p0.a, p0.b, n, true);
        r = fs::integrate::integrate(ctx, flow, z, grid, fs::integrate::Method::heun);
        ctx.synchronize();
      },
      5);
  fs::bench::Line l;
  l.bench = "sample.ring8_vp_heun100";
  l.precision = "float";
  l.threads = threads;
  l.n = static_cast<long long>(n);
  l.m = K;
  l.d = 2;
  l.seconds = s;
  l.rate = double(n) * steps / s;
  l.unit = "particle-steps/s";
  const fs::Context probe = fs::Context::create(args.backend, 1, threads);
  l.backend = fs::to_string(probe.backend());
  l.limit = fs::bench::exp_limit<float>(probe, threads) / (2.0 * K);
  l.extra = "\"nfe\": " + std::to_string(r.nfe) + ", \"steps\": " + std::to_string(steps);
  l.print();
  return 0;
}
