// Strong and weak scaling over MPI ranks (issue 17). Run it under mpirun:
//   mpirun -np P bench_scaling [--threads T]      (T OpenMP threads per rank)
// For each case, rank 0 first runs the whole problem as one process (the
// other ranks wait), then all P ranks run it split by rows; rate is the work
// per second of the P ranks and limit P times the one-rank rate, so ratio is
// the parallel efficiency, both measured in the same run (medians of 3).
//   sample   ring-8 target, vp path, heun 100 steps, d = 2 (exact GMM flow)
//   drift    mean shift to 4096 data points, Gaussian kernel, 5 euler steps, d = 3
//   sinkhorn log-domain Sinkhorn at eps = 0.5, tol 1e-4, N = M, d = 3 (iterations split by rows)
//   jko      one implicit JKO step of KL(. || N(0, I)), blob score, h = 0.1, d = 3 (inner iterations split by rows)
// strong: the same N for 1 and P ranks; weak: N per rank fixed (P N for P ranks).
#include <cmath>
#include <functional>
#include <string>

#include "bench_util.hpp"
#include "flowsampler/core/communicator.hpp"
#include "flowsampler/fields/drifts.hpp"
#include "flowsampler/integrate/integrate.hpp"
#include "flowsampler/jko/step.hpp"
#include "flowsampler/metrics/sinkhorn.hpp"
#include "flowsampler/targets/gaussian_mixture.hpp"

namespace fs = flowsampler;

namespace {

fs::targets::GaussianMixture ring(int d) {
  fs::targets::GaussianMixture g(static_cast<std::size_t>(d));
  for (int k = 0; k < 8; ++k) {
    std::vector<double> m(static_cast<std::size_t>(d), 0.0);
    m[0] = 4 * std::cos(2 * M_PI * k / 8), m[1] = 4 * std::sin(2 * M_PI * k / 8);
    g.add(1.0, m, {0.09});
  }
  return g;
}

// One case: runs the whole computation of an n-particle problem on `comm`'s
// ranks and returns its work units (particle-steps, pairs).
using Case = std::function<double(const fs::Communicator& comm, std::size_t n, int threads)>;

double sample_case(const fs::Communicator& comm, std::size_t n, int threads) {
  const auto target = ring(2);
  const fs::fields::GmmFlow<float> flow(fs::fields::GmmField(target), fs::paths::make_path("vp", {5.0}));
  const int steps = 100;
  fs::Context ctx = fs::Context::create(fs::Backend::cpu, 1, threads);
  const fs::Shard s = comm.shard(n);
  const auto p0 = flow.path()->at(0.0);
  auto z = fs::targets::sample_initial<float>(ctx, target, fs::targets::Noise::isotropic(), p0.a, p0.b, s.count, true, s.first);
  fs::integrate::Options<float> o;
  o.comm = &comm;
  fs::integrate::integrate(ctx, flow, z, fs::integrate::uniform_grid(0.0, 1.0, steps), fs::integrate::Method::heun, o);
  comm.gather(z.to_row_major());  // rank 0 writes the whole cloud
  return double(n) * steps;
}

double drift_case(const fs::Communicator& comm, std::size_t n, int threads) {
  const auto target = ring(3);
  const std::size_t m = 4096;
  const int steps = 5;
  fs::Context ctx = fs::Context::create(fs::Backend::cpu, 1, threads);
  const auto data = target.sample<float>(ctx, m);  // the same data on every rank (same seed and draw)
  fs::fields::DriftOptions fo;
  fo.kernel = {fs::pairwise::Kernel::gaussian, 0.5};
  const fs::fields::DriftField<float> field(ctx, fs::fields::Drift::mean_shift, fo, &data);
  const fs::Shard s = comm.shard(n);
  auto z = fs::targets::sample_initial<float>(ctx, target, fs::targets::Noise::isotropic(), 0.0, 1.0, s.count, false, s.first);
  fs::integrate::Options<float> o;
  o.comm = &comm;
  fs::integrate::integrate(ctx, field, z, fs::integrate::uniform_grid(0.0, 0.5, steps), fs::integrate::Method::euler, o);
  comm.gather(z.to_row_major());
  return double(n) * double(m) * steps;
}

double sinkhorn_case(const fs::Communicator& comm, std::size_t n, int threads) {
  const auto target = ring(3);
  fs::Context ctx = fs::Context::create(fs::Backend::cpu, 1, threads);
  const auto x = target.sample<float>(ctx, n), y = target.sample<float>(ctx, n);
  fs::metrics::SinkhornOptions o;
  o.eps = 0.5;  // a few dozen iterations in float at the default tolerance
  o.tol = 1e-4;
  o.debias = false;
  o.comm = &comm;
  const auto r = fs::metrics::sinkhorn(ctx, x, y, o);
  // Two soft-min passes of N x M pairs per iteration (one iteration per eps stage before the last).
  return 2.0 * double(n) * double(n) * (r.iterations + r.stages - 1);
}

double jko_case(const fs::Communicator& comm, std::size_t n, int threads) {
  const auto target = ring(3);
  fs::Context ctx = fs::Context::create(fs::Backend::cpu, 1, threads);
  const auto x = target.sample<float>(ctx, n);  // the whole cloud on every rank
  fs::targets::GaussianMixture normal(3);
  normal.add(1.0, {0.0, 0.0, 0.0}, {1.0});
  fs::jko::Objective<float> F;
  F.add_relative_entropy(normal);
  fs::jko::StepOptions o;
  o.comm = &comm;
  const auto r = fs::jko::jko_step(ctx, F, x, 0.1, o);
  // Each gradient evaluation: the blob score's two N x N passes.
  return 2.0 * double(n) * double(n) * r.inner;
}

// Median seconds of 3 runs, timed between barriers of every rank.
double timed(const fs::Communicator& world, const std::function<void()>& f) {
  return fs::bench::median_seconds(
      [&] {
        world.barrier();
        f();
        world.barrier();
      },
      3);
}

void measure(const fs::Communicator& world, const char* name, const Case& c, int d, std::size_t n_one, std::size_t n_all,
             int threads, const char* mode) {
  const fs::Communicator one;  // rank 0 alone; the others wait at the barrier
  double work_one = 0, work_all = 0;
  const double s_one = timed(world, [&] {
    if (world.is_root()) work_one = c(one, n_one, threads);
  });
  const double s_all = timed(world, [&] { work_all = c(world, n_all, threads); });
  if (!world.is_root()) return;
  fs::bench::Line l;
  l.bench = std::string("scaling.") + name + "." + mode;
  l.precision = "float";
  l.threads = threads;
  l.n = static_cast<long long>(n_all);
  l.d = d;
  l.seconds = s_all;
  l.rate = work_all / s_all;
  l.unit = "work/s";
  l.limit = world.size() * work_one / s_one;
  l.extra = "\"ranks\": " + std::to_string(world.size()) + ", \"n_one_rank\": " + std::to_string(n_one) +
            ", \"seconds_one_rank\": " + std::to_string(s_one);
  l.print();
}

}  // namespace

int main(int argc, char** argv) {
  const fs::bench::Args args = fs::bench::parse_args(argc, argv);
  const fs::Communicator world = fs::Communicator::world();
  const int threads = args.threads_given ? args.threads : 1;
  const std::size_t p = static_cast<std::size_t>(world.size());
  const std::size_t n_sample = std::size_t(1) << 18, n_drift = std::size_t(1) << 15, n_sinkhorn = std::size_t(1) << 12,
                    n_jko = std::size_t(1) << 13;
  measure(world, "sample", sample_case, 2, n_sample, n_sample, threads, "strong");
  measure(world, "sample", sample_case, 2, n_sample, p * n_sample, threads, "weak");
  measure(world, "drift", drift_case, 3, n_drift, n_drift, threads, "strong");
  measure(world, "drift", drift_case, 3, n_drift, p * n_drift, threads, "weak");
  measure(world, "sinkhorn", sinkhorn_case, 3, n_sinkhorn, n_sinkhorn, threads, "strong");
  measure(world, "jko", jko_case, 3, n_jko, n_jko, threads, "strong");
  return 0;
}
