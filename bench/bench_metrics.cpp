// Metric reductions at the sizes of the metrics issue, float, all threads:
// sliced W2 (P = 128, N = M = 2^20, d = 16), MMD and log-domain Sinkhorn
// (N = M = 2^14, d = 3, time per iteration). Limits: for sliced W2 the
// streaming bound of the radix sort (memory bandwidth measured here / the 32
// bytes each value moves in 4 passes); for the pairwise reductions libmvec's
// exp rate (each pair costs one exp), as in bench_pairwise.
// Usage: bench_metrics [--backend B] [threads]
#include <sys/resource.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>

#include "bench_util.hpp"
#include "exp_limit.hpp"
#include "flowsampler/metrics/mmd.hpp"
#include "flowsampler/metrics/sinkhorn.hpp"
#include "flowsampler/metrics/sliced_w2.hpp"

namespace fs = flowsampler;
using fs::bench::Line;
using fs::bench::median_seconds;

namespace {

template <class Real>
fs::ParticleSet<Real> cloud(const fs::Context& ctx, std::size_t n, std::size_t d, unsigned seed, double shift = 0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g;
  std::vector<Real> v(n * d);
  for (auto& e : v) e = Real(shift + g(rng));
  return fs::ParticleSet<Real>::from_column_major(ctx, v.data(), n, d);
}

// Bytes per second of a large memcpy (read + write counted), all threads.
double copy_bandwidth(int threads) {
  const std::size_t len = std::size_t(1) << 27;  // 128 MiB
  std::vector<char> a(len, 1), b(len, 2);
  const double s = median_seconds(
      [&] {
#pragma omp parallel for num_threads(threads)
        for (int t = 0; t < threads; ++t) {
          const std::size_t chunk = len / threads;
          std::memcpy(b.data() + t * chunk, a.data() + t * chunk, chunk);
        }
      },
      5);
  return 2.0 * double(len) / s;
}

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  auto args = fs::bench::parse_args(argc, argv);
  args.positional_threads();
  const int threads = args.threads;
  const fs::Context ctx = fs::Context::create(args.backend, 0, threads);
  const double lim_exp = fs::bench::exp_limit<float>(ctx, threads);
  {  // Sliced W2, P = 128, N = M = 2^20, d = 16.
    const std::size_t n = std::size_t(1) << 20, d = 16;
    const int P = 128;
    const auto x = cloud<float>(ctx, n, d, 1), y = cloud<float>(ctx, n, d, 2, 0.1);
    double value = 0;
    const double rss0 = peak_rss_mib();
    const double s = median_seconds([&] { value = fs::metrics::sliced_w2(ctx, x, y, P, 3).w2_squared; }, 3);
    const double rss1 = peak_rss_mib();
    const double bw = ctx.is_cuda() ? fs::bench::gpu_bandwidth_limit(ctx.device_info()) : copy_bandwidth(threads);
    Line l;
    l.bench = "metrics.sliced_w2";
    l.precision = "float";
    l.threads = threads;
    l.n = l.m = static_cast<long long>(n);
    l.d = d;
    l.seconds = s;
    l.rate = double(P) * 2.0 * double(n) / s;
    l.unit = "projected values sorted/s";
    l.limit = bw / 32.0;
    l.extra = "\"projections\": 128, \"sw2_squared\": " + std::to_string(value) +
              ", \"peak_rss_growth_mib\": " + std::to_string(rss1 - rss0) +
              ", \"copy_bandwidth_bytes_per_s\": " + std::to_string(bw);
    l.print();
  }
  const std::size_t n = std::size_t(1) << 14, d = 3;
  const auto x = cloud<float>(ctx, n, d, 4), y = cloud<float>(ctx, n, d, 5, 0.5);
  {  // MMD (Gaussian kernel), N = M = 2^14: 3 N^2 kernel evaluations.
    double value = 0;
    const double s = median_seconds(
        [&] { value = fs::metrics::mmd_squared(ctx, {fs::pairwise::Kernel::gaussian, 1.0}, x, y); }, 5);
    Line l;
    l.bench = "metrics.mmd_gaussian";
    l.precision = "float";
    l.threads = threads;
    l.n = l.m = static_cast<long long>(n);
    l.d = d;
    l.seconds = s;
    l.rate = 3.0 * double(n) * double(n) / s;
    l.unit = "pairs/s";
    l.limit = lim_exp;
    l.extra = "\"mmd2\": " + std::to_string(value);
    l.print();
  }
  {  // Log-domain Sinkhorn, N = M = 2^14, eps = 0.01 (about 1e-3 of the squared diameter):
     // each iteration is two soft-min passes of N M pairs. The rate counts all
     // of them, as a dense solver computes them; the solve leaves out the far
     // spans (src/cpu/span_bounds.hpp), so its ratio to the exp limit is an
     // effective one and may pass 1.
    fs::metrics::SinkhornOptions o;
    o.eps = 0.01;
    o.debias = false;
    o.tol = 1e-3;
    const double rss0 = peak_rss_mib();
    fs::metrics::SinkhornResult r;
    const double s = median_seconds([&] { r = fs::metrics::sinkhorn(ctx, x, y, o); }, 3);
    const int iterations = r.iterations + r.stages;  // one per eps stage, then the final loop
    Line l;
    l.bench = "metrics.sinkhorn_log_domain";
    l.precision = "float";
    l.threads = threads;
    l.n = l.m = static_cast<long long>(n);
    l.d = d;
    l.seconds = s / iterations;
    l.rate = 2.0 * double(n) * double(n) * iterations / s;
    l.unit = "pairs/s";
    l.limit = lim_exp;
    l.extra = "\"seconds_per_iteration\": " + std::to_string(s / iterations) + ", \"iterations\": " +
              std::to_string(iterations) + ", \"rate_counts\": \"every pair, skipped or not\", \"eps\": 0.01, \"cost\": " + std::to_string(r.cost) +
              ", \"peak_rss_growth_mib\": " + std::to_string(peak_rss_mib() - rss0);
    l.print();
  }
  return 0;
}
