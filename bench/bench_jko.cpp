// One particle JKO step for KL(. || N(0, I)) with the KDE score (Silverman
// bandwidth), float, 2 threads, N = 2^16, d in {2, 16}: the data are a
// two-cluster Gaussian mixture. Prints the step's wall time, its inner
// iterations (gradient evaluations) and the pairwise engine's rate inside
// the step: one Gaussian mean shift of N x N pairs per evaluation, against
// libmvec's exp rate (one exp per pair).
// Usage: bench_jko [--backend B] [threads] [log2 N]
#include <chrono>
#include <cstdlib>
#include <random>
#include <string>

#include "bench_util.hpp"
#include "exp_limit.hpp"
#include "flowsampler/jko/step.hpp"

namespace fs = flowsampler;

int main(int argc, char** argv) {
  auto args = fs::bench::parse_args(argc, argv);
  args.positional_threads();
  const int threads = args.threads;
  const std::size_t n = std::size_t(1) << args.integer(0, 16);
  const fs::Context ctx = fs::Context::create(args.backend, 0, threads);
  const double limit = fs::bench::exp_limit<float>(ctx, threads);
  for (std::size_t d : {2u, 16u}) {
    std::mt19937 rng(1);
    std::normal_distribution<double> g;
    std::vector<float> x(n * d);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t c = 0; c < d; ++c) x[c * n + i] = float((c == 0 ? (i % 2 ? 2.0 : -2.0) : 0.0) + 0.5 * g(rng));
    const auto cloud = fs::ParticleSet<float>::from_column_major(ctx, x.data(), n, d);
    fs::targets::GaussianMixture pi(d);
    pi.add(1.0, std::vector<double>(d, 0.0), {1.0});
    fs::jko::Objective<float> objective;
    objective.add_relative_entropy(pi);
    const auto t0 = std::chrono::steady_clock::now();
    const auto step = fs::jko::jko_step(ctx, objective, cloud, 0.1);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    fs::bench::Line l;
    l.bench = "jko.particle_step_kde";
    l.precision = "float";
    l.threads = threads;
    l.n = l.m = static_cast<long long>(n);
    l.d = static_cast<long long>(d);
    l.seconds = s;
    l.rate = double(step.inner) * double(n) * double(n) / s;
    l.unit = "pairs/s";
    l.limit = limit;
    l.extra = "\"inner\": " + std::to_string(step.inner) + ", \"solver_eps\": " + std::to_string(step.solver_eps) +
              ", \"tol\": " + std::to_string(step.tol) + ", \"converged\": " + (step.converged ? "true" : "false") +
              ", \"bandwidth\": " + std::to_string(step.score.bandwidth);
    l.print();
  }
  return 0;
}
