// Kernel drift fields, one evaluation over a cloud of N = 2^14 particles and
// M = 2^14 data points, d = 2, float, 2 threads: drifting (Laplace, two
// softmax sweeps N x M and N x N), MMD flow (Gaussian, two gradient sums),
// SVGD (Gaussian, d + 1 kernel sums over N x N, N = 2^13) and the Sinkhorn
// drift (eps 0.05: two Sinkhorn solves; time per evaluation). Rate: kernel
// pairs per second; limit: libmvec's exp rate (one exp per pair).
// Usage: bench_drift [threads]
#include <cstdlib>
#include <random>

#include "bench_util.hpp"
#include "exp_limit.hpp"
#include "flowsampler/fields/drifts.hpp"

namespace fs = flowsampler;
namespace ff = flowsampler::fields;

namespace {

fs::ParticleSet<float> cloud(const fs::Context& ctx, std::size_t n, unsigned seed, double shift) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g;
  std::vector<float> v(n * 2);
  for (auto& e : v) e = float(shift + g(rng));
  return fs::ParticleSet<float>::from_column_major(ctx, v.data(), n, 2);
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, threads);
  const double limit = fs::bench::exp_limit<float>(threads);
  fs::targets::GaussianMixture g(2);
  g.add(1.0, {0.5, -0.5}, {1.0});
  struct Case {
    const char* name;
    ff::Drift kind;
    fs::pairwise::Kernel kernel;
    std::size_t n;
    double pairs_per_eval;  // in units of N * M (or N^2)
  };
  for (const Case& c : {Case{"drift.drifting_laplace", ff::Drift::drifting, fs::pairwise::Kernel::laplace, 1u << 14, 2},
                        // mean distance (2 passes), then 5 passes per temperature (3)
                        Case{"drift.drifting_normalized", ff::Drift::drifting_normalized, fs::pairwise::Kernel::laplace, 1u << 14, 17},
                        Case{"drift.blob_gaussian", ff::Drift::blob, fs::pairwise::Kernel::gaussian, 1u << 14, 2},
                        Case{"drift.mmd_gaussian", ff::Drift::mmd, fs::pairwise::Kernel::gaussian, 1u << 14, 2},
                        Case{"drift.svgd_gaussian", ff::Drift::svgd, fs::pairwise::Kernel::gaussian, 1u << 13, 3},
                        Case{"drift.sinkhorn", ff::Drift::sinkhorn, fs::pairwise::Kernel::gaussian, 1u << 12, 0}}) {
    const auto z = cloud(ctx, c.n, 1, 0.0), data = cloud(ctx, c.n, 2, 1.0);
    ff::DriftOptions o;
    o.kernel = {c.kernel, 0.5};
    o.ot_eps = 0.05;
    const bool own_cloud_only = c.kind == ff::Drift::svgd || c.kind == ff::Drift::blob;
    const ff::DriftField<float> f(ctx, c.kind, o, own_cloud_only ? nullptr : &data, {},
                                  c.kind == ff::Drift::svgd ? &g : nullptr);
    ff::FieldRequest req;
    req.velocity = true;
    const double s = fs::bench::median_seconds([&] { f.evaluate(ctx, 0, z, req); }, 5);
    fs::bench::Line l;
    l.bench = c.name;
    l.precision = "float";
    l.threads = threads;
    l.n = l.m = static_cast<long long>(c.n);
    l.d = 2;
    l.seconds = s;
    l.rate = c.pairs_per_eval > 0 ? c.pairs_per_eval * double(c.n) * double(c.n) / s : 1 / s;
    l.unit = c.pairs_per_eval > 0 ? "pairs/s" : "evaluations/s";
    l.limit = c.pairs_per_eval > 0 ? limit : 0;
    l.print();
  }
  return 0;
}
