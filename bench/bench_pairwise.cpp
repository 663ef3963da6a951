// Pairs per second of the pairwise engine (Gaussian kernel sum and mean-shift
// softmax) against the machine's limit measured here: libmvec's vector exp
// evaluations per second on the same threads and, from d = 16 on, the lesser
// of that and the FMA rate over the FMAs a pair needs in the GEMM form (d for
// the sum; 2d for the mean shift, whose d outputs are a second product).
// One JSON line per case.
//   bench_pairwise [--backend B] [--threads T] [--quick] [--d D]   (--quick: N = M = 2^14 only; --d: one dimension)
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "flowsampler/pairwise/pairwise.hpp"
#include "bench_util.hpp"
#include "exp_limit.hpp"
#include "fma_limit.hpp"

namespace fs = flowsampler;
using fs::bench::median_seconds;

namespace {

template <class Real>
fs::ParticleSet<Real> cloud(const fs::Context& ctx, std::size_t n, std::size_t d, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g;
  std::vector<Real> v(n * d);
  for (auto& e : v) e = Real(g(rng));
  return fs::ParticleSet<Real>::from_column_major(ctx, v.data(), n, d);
}

/// The limits a case is held to: exp/s, and FMA/s from d = 16 on (0: none).
struct Limits {
  double exp = 0;
  fs::bench::Limit fma;
};

template <class Real>
void run_case(fs::Backend backend, const char* bench, int threads, std::size_t n, std::size_t d, const Limits& lim) {
  const fs::Context ctx = fs::Context::create(backend, 0, threads);
  const auto x = cloud<Real>(ctx, n, d, 1), y = cloud<Real>(ctx, n, d, 2);
  const double h = std::sqrt(double(d));
  const double pairs = double(n) * double(n);
  const int reps = pairs * d > 2e10 ? 1 : 3;
  double seconds = 0;
  if (std::strcmp(bench, "pairwise.gauss_sum") == 0)
    seconds = median_seconds([&] { fs::pairwise::kernel_sum(ctx, {fs::pairwise::Kernel::gaussian, h}, x, y), ctx.synchronize(); }, reps);
  else
    seconds = median_seconds([&] { fs::pairwise::mean_shift(ctx, h, x, y), ctx.synchronize(); }, reps);
  fs::bench::Line line;
  line.bench = bench;
  line.precision = sizeof(Real) == 4 ? "float" : "double";
  line.threads = threads;
  line.n = line.m = (long long)n;
  line.d = (long long)d;
  line.seconds = seconds;
  line.rate = pairs / seconds;
  line.unit = "pairs/s";
  line.limit = lim.exp;
  if (lim.fma.best > 0 && d >= 16) {
    const double fmas_per_pair = std::strcmp(bench, "pairwise.gauss_sum") == 0 ? double(d) : 2.0 * double(d);
    const double fma_pairs = lim.fma.best / fmas_per_pair;
    line.limit = std::min(lim.exp, fma_pairs);
    line.extra = "\"limit_by\": \"" + std::string(fma_pairs < lim.exp ? "fma" : "exp") +
                 "\", \"exp_limit\": " + std::to_string(lim.exp) + ", \"fma_limit_pairs\": " + std::to_string(fma_pairs) +
                 ", \"fma_per_s\": " + std::to_string(lim.fma.best) + ", \"fma_spread\": " + std::to_string(lim.fma.spread());
  }
  line.print();
}

}  // namespace

// Peak resident memory of N = M = 2^17, d = 3 kernel sum and mean shift: no
// N x M storage, so it stays near the inputs plus the loaded libraries. Run
// first, before any other case grows the process.
void peak_rss_case() {
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const std::size_t n = 1u << 17;
  const auto x = cloud<float>(ctx, n, 3, 1), y = cloud<float>(ctx, n, 3, 2);
  fs::pairwise::kernel_sum(ctx, {fs::pairwise::Kernel::gaussian, 1.0}, x, y);
  fs::pairwise::mean_shift(ctx, 1.0, x, y);
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  fs::bench::Line l;
  l.bench = "pairwise.peak_rss";
  l.precision = "float";
  l.threads = 2;
  l.n = l.m = (long long)n;
  l.d = 3;
  // rate: the growth of the peak RSS over the process's RSS before the case
  // (the loaded CUDA libraries alone hold ~150 MiB in a CUDA build).
  l.rate = double(after.ru_maxrss - before.ru_maxrss) / 1024.0;
  l.unit = "MiB";
  l.limit = 64;
  l.extra = "\"rss_before_mib\": " + std::to_string(double(before.ru_maxrss) / 1024.0) +
            ", \"rss_peak_mib\": " + std::to_string(double(after.ru_maxrss) / 1024.0);
  l.print();
}

int main(int argc, char** argv) {
  const fs::bench::Args args = fs::bench::parse_args(argc, argv);
  const bool quick = args.flag("--quick");
  int only_d = 0;
  for (std::size_t a = 0; a + 1 < args.rest.size(); ++a)
    if (args.rest[a] == "--d") only_d = std::atoi(args.rest[a + 1].c_str());
  if (args.backend == fs::Backend::cpu) peak_rss_case();
  const std::vector<std::size_t> sizes = quick ? std::vector<std::size_t>{1u << 14} : std::vector<std::size_t>{1u << 12, 1u << 14, 1u << 16};
  for (int threads : fs::bench::thread_sweep(args)) {
    const fs::Context probe = fs::Context::create(args.backend, 0, threads);
    double lim_f = 0, lim_d = 0;
    if (probe.is_cuda()) {
      lim_f = lim_d = fs::bench::gpu_exp_limit(probe.device_info());
    } else {
      const fs::bench::Limit ef = fs::bench::exp_limits<float>(threads), ed = fs::bench::exp_limits<double>(threads);
      lim_f = ef.best, lim_d = ed.best;
      const double scalar_f = fs::bench::exp_limit<float>(threads, false);
      for (auto [prec, lim, spread] : {std::tuple<const char*, double, double>{"float", lim_f, ef.spread()}, {"double", lim_d, ed.spread()}}) {
        fs::bench::Line l;
        l.bench = "limit.libmvec_exp";
        l.backend = "cpu";
        l.precision = prec;
        l.threads = threads;
        l.seconds = 0;
        l.rate = lim;
        l.unit = "exp/s";
        l.limit = lim;
        // libmvec is in use when the simd loop beats the scalar call several-fold.
        l.extra = std::string("\"scalar_exp_per_s\": ") + std::to_string(scalar_f) +
                  ", \"libmvec_used\": " + (lim_f > 3 * scalar_f ? "true" : "false") +
                  ", \"best_over_worst_trial\": " + std::to_string(spread);
        l.print();
      }
    }
    Limits lf{lim_f, {}}, ld{lim_d, {}};
    if (!probe.is_cuda()) lf.fma = fs::bench::fma_limit<float>(threads), ld.fma = fs::bench::fma_limit<double>(threads);
    for (const char* bench : {"pairwise.gauss_sum", "pairwise.meanshift_softmax"})
      for (std::size_t d : {1u, 2u, 3u, 8u, 16u, 32u, 64u, 128u, 256u})
        for (std::size_t n : sizes) {
          if (only_d && std::size_t(only_d) != d) continue;
          if (d >= 64 && n > (1u << 14)) continue;  // seconds per call past that
          run_case<float>(args.backend, bench, threads, n, d, lf);
          run_case<double>(args.backend, bench, threads, n, d, ld);
        }
  }
}
