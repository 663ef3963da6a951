// Kernel drift fields, one evaluation each, float, 2 threads: drifting
// (Laplace, two softmax sweeps N x M and N x N) at N = M = 2^16 for d = 2
// and 32; the public-implementation drifting form (17 sweeps), the blob
// entropy gradient and the MMD flow at N = M = 2^14; one SVGD step (one fused
// pass over N x N: the kernel, its gradient and the score term share one exp)
// and one Sinkhorn-drift step (eps 0.05: two Sinkhorn solves; time per
// evaluation) at N = 2^14. Rate: kernel pairs per second; limit: libmvec's
// exp rate (one exp per pair).
// Usage: bench_drift [--backend B] [threads] [filter] (only the cases whose name contains filter)
#include <cstdlib>
#include <random>
#include <string>

#include "bench_util.hpp"
#include "exp_limit.hpp"
#include "flowsampler/fields/drifts.hpp"

namespace fs = flowsampler;
namespace ff = flowsampler::fields;

namespace {

fs::ParticleSet<float> cloud(const fs::Context& ctx, std::size_t n, std::size_t d, unsigned seed, double shift) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g;
  std::vector<float> v(n * d);
  for (auto& e : v) e = float(shift + g(rng));
  return fs::ParticleSet<float>::from_column_major(ctx, v.data(), n, d);
}

}  // namespace

int main(int argc, char** argv) {
  auto args = fs::bench::parse_args(argc, argv);
  args.positional_threads();
  const int threads = args.threads;
  const std::string filter = args.rest.empty() ? "" : args.rest[0];
  const fs::Context ctx = fs::Context::create(args.backend, 0, threads);
  const double limit = fs::bench::exp_limit<float>(ctx, threads);
  struct Case {
    const char* name;
    ff::Drift kind;
    fs::pairwise::Kernel kernel;
    std::size_t n, d;
    double pairs_per_eval;  // in units of N * M (or N^2); 0: report evaluations/s
    int reps;
  };
  const auto L = fs::pairwise::Kernel::laplace, G = fs::pairwise::Kernel::gaussian;
  // The sizes of the issue: drifting at N = M = 2^16, d in {2, 32}; one SVGD
  // and one Sinkhorn-drift step at N = 2^14; the others at 2^14, d = 2.
  for (const Case& c : {Case{"drift.drifting_laplace", ff::Drift::drifting, L, 1u << 16, 2, 2, 3},
                        Case{"drift.drifting_laplace", ff::Drift::drifting, L, 1u << 16, 32, 2, 3},
                        // mean distance (2 passes), then 5 passes per temperature (3)
                        Case{"drift.drifting_normalized", ff::Drift::drifting_normalized, L, 1u << 14, 2, 17, 3},
                        Case{"drift.blob_gaussian", ff::Drift::blob, G, 1u << 14, 2, 2, 5},
                        Case{"drift.mmd_gaussian", ff::Drift::mmd, G, 1u << 14, 2, 2, 5},
                        Case{"drift.svgd_gaussian", ff::Drift::svgd, G, 1u << 14, 2, 1, 5},
                        Case{"drift.sinkhorn", ff::Drift::sinkhorn, G, 1u << 14, 2, 0, 1}}) {
    if (std::string(c.name).find(filter) == std::string::npos) continue;
    const auto z = cloud(ctx, c.n, c.d, 1, 0.0), data = cloud(ctx, c.n, c.d, 2, 1.0);
    fs::targets::GaussianMixture g(c.d);
    g.add(1.0, std::vector<double>(c.d, 0.5), {1.0});
    ff::DriftOptions o;
    o.kernel = {c.kernel, 0.5};
    o.ot_eps = 0.05;
    const bool own_cloud_only = c.kind == ff::Drift::svgd || c.kind == ff::Drift::blob;
    const ff::DriftField<float> f(ctx, c.kind, o, own_cloud_only ? nullptr : &data, {},
                                  c.kind == ff::Drift::svgd ? &g : nullptr);
    ff::FieldRequest req;
    req.velocity = true;
    const double s = fs::bench::median_seconds([&] { f.evaluate(ctx, 0, z, req); }, c.reps);
    fs::bench::Line l;
    l.bench = c.name;
    l.precision = "float";
    l.threads = threads;
    l.n = l.m = static_cast<long long>(c.n);
    l.d = static_cast<long long>(c.d);
    l.seconds = s;
    l.rate = c.pairs_per_eval > 0 ? c.pairs_per_eval * double(c.n) * double(c.n) / s : 1 / s;
    l.unit = c.pairs_per_eval > 0 ? "pairs/s" : "evaluations/s";
    l.limit = c.pairs_per_eval > 0 ? limit : 0;
    l.print();
  }
  return 0;
}
