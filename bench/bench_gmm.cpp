// Exact GMM velocity evaluations per second (particles x one velocity each),
// against the machine's exp limit measured here: each evaluation costs K exps,
// so rate * K / exp_limit is the share of the exp throughput achieved.
//   bench_gmm [--backend B] [--threads T] [--quick]   (--quick: the target case and a few others;
//   without --threads the CPU lines sweep 1 and 2 threads)
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "exp_limit.hpp"
#include "flowsampler/core/random.hpp"
#include "flowsampler/fields/gmm_field.hpp"

namespace fs = flowsampler;
using fs::bench::median_seconds;

namespace {

fs::targets::GaussianMixture mixture(std::size_t d, std::size_t K, bool full) {
  std::mt19937 rng(1);
  std::normal_distribution<double> g;
  fs::targets::GaussianMixture m(d);
  for (std::size_t k = 0; k < K; ++k) {
    std::vector<double> mean(d);
    for (auto& v : mean) v = 3 * g(rng);
    if (!full) {
      m.add(1.0 + double(k % 3), mean, {0.5 + 0.1 * double(k % 4)});
      continue;
    }
    std::vector<double> A(d * d), S(d * d, 0.0);
    for (auto& v : A) v = g(rng) / std::sqrt(double(d));
    for (std::size_t i = 0; i < d; ++i)
      for (std::size_t j = 0; j < d; ++j) {
        for (std::size_t r = 0; r < d; ++r) S[i * d + j] += A[i * d + r] * A[j * d + r];
        if (i == j) S[i * d + j] += 0.3;
      }
    m.add(1.0, mean, S);
  }
  return m;
}

template <class Real>
void run(fs::Backend backend, int threads, std::size_t d, std::size_t K, bool full, std::size_t n, double limit) {
  fs::Context ctx = fs::Context::create(backend, 1, threads);
  const fs::fields::GmmField field(mixture(d, K, full));
  fs::ParticleSet<Real> z(ctx, n, d);
  fs::fill_normal(ctx, z);
  const auto p = fs::paths::make_path("linear").at(0.5);
  const double s = median_seconds([&] { field.velocity(ctx, p, z), ctx.synchronize(); }, 9);  // ~5 ms calls: more repetitions
  fs::bench::Line l;
  l.bench = std::string("gmm.velocity_") + (full ? "full" : "isotropic");
  l.precision = sizeof(Real) == 4 ? "float" : "double";
  l.threads = threads;
  l.n = (long long)n;
  l.m = (long long)K;
  l.d = (long long)d;
  l.seconds = s;
  l.rate = double(n) / s;
  l.unit = "evaluations/s";
  l.limit = limit / double(K);  // an evaluation needs K exps
  l.print();
}

}  // namespace

#include "flowsampler/core/random.hpp"

int main(int argc, char** argv) {
  const fs::bench::Args args = fs::bench::parse_args(argc, argv);
  const bool quick = args.flag("--quick");
  for (int threads : fs::bench::thread_sweep(args)) {
    const double limit = fs::bench::exp_limit<float>(fs::Context::create(args.backend, 0, threads), threads);
    for (bool full : {false, true})
      for (std::size_t d : {2u, 16u, 64u})
        for (std::size_t K : {8u, 64u, 512u}) {
          if (quick && (K == 512 || d == 64)) continue;
          // N = 2^20 where it takes seconds; fewer particles for the heavy cases.
          const double work = double(K) * double(full ? d * d : d);
          const std::size_t n = work <= 64 ? (1u << 20) : std::max<std::size_t>(1u << 12, std::size_t((1u << 20) * 64 / work));
          run<float>(args.backend, threads, d, K, full, n, limit);
          run<double>(args.backend, threads, d, K, full, n, limit);
        }
  }
}
