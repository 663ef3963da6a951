// Monge-map schemes (flowsampler/monge/train.hpp): wall time of one outer
// step of each method at N = 2^14 source points per step, d in {2, 16}, KL to
// N(0, I) (self-entropic-OT score), ICNN 2 x 20, double. The implicit and
// explicit steps run `inner` = 10 inner Adam steps (the seed uses 100: scale
// by 10) to keep the run short; euclidean/adam: one optimizer step. Each inner
// step re-estimates the score on a fresh batch, so the score (a Sinkhorn solve
// on N x N pairs) dominates: the line "monge.kl_wgrad" times it alone.
// The lines "monge.potential_map_vjp" time the potentials alone (T and the
// parameter gradient on N points, as one optimizer step asks them).
// Rate: outer steps per second (wgrad: evaluations per second; potentials:
// points per second); no limit.
// Usage: bench_monge [--backend B] [threads] [log2 N] [inner]
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench_util.hpp"
#include "flowsampler/monge/functional.hpp"
#include "flowsampler/monge/potential.hpp"
#include "flowsampler/monge/train.hpp"

namespace fs = flowsampler;
namespace fm = flowsampler::monge;

int main(int argc, char** argv) {
  auto args = fs::bench::parse_args(argc, argv);
  args.positional_threads();
  const int threads = args.threads;
  const int log2n = args.integer(0, 14);
  const int inner = args.integer(1, 10);
  const std::size_t n = std::size_t(1) << log2n;
  // One line of the common schema for n points in d dimensions.
  auto line = [&](const char* bench, std::size_t d, double seconds, double rate, const char* unit, std::string extra) {
    fs::bench::Line l;
    l.bench = bench;
    l.precision = "double";
    l.threads = threads;
    l.n = l.m = static_cast<long long>(n);
    l.d = static_cast<long long>(d);
    l.seconds = seconds;
    l.rate = rate;
    l.unit = unit;
    l.extra = std::move(extra);
    l.print();
  };
  for (const std::size_t d : {std::size_t(2), std::size_t(16)}) {
    fs::Context ctx = fs::Context::create(args.backend, 0, threads);
    fs::targets::GaussianMixture source(d), target(d);
    source.add(1.0, std::vector<double>(d, 1.0), {0.5});
    target.add(1.0, std::vector<double>(d, 0.0), {1.0});
    const auto F = fm::make_kl(ctx, target);
    fm::PotentialSpec ps;
    ps.dim = d;
    auto base = fm::make_potential(ps);
    for (const char* type : {"icnn", "lse"}) {  // The potential alone: map and parameter gradient.
      fm::PotentialSpec pp;
      pp.type = type;
      pp.dim = d;
      const auto pot = fm::make_potential(pp);
      const std::vector<double> x = source.sample<double>(ctx, n).to_host(), g = target.sample<double>(ctx, n).to_host();
      const double s = fs::bench::median_seconds([&] {
        (void)pot->map(x.data(), n);
        (void)pot->map_vjp(x.data(), g.data(), n);
      });
      line("monge.potential_map_vjp", d, s, double(n) / s, "points/s",
           std::string("\"potential\": \"") + type + (pp.type == "icnn" ? " 2 x 20\"" : " 64 pieces\"") +
               ", \"params\": " + std::to_string(pot->num_params()));
    }
    {  // The score estimate alone, on the source cloud.
      const auto y = source.sample<double>(ctx, n);
      const double s = fs::bench::median_seconds([&] { F->wgrad(ctx, y); }, 1);
      line("monge.kl_wgrad", d, s, 1 / s, "evaluations/s", "");
    }
    for (const fm::Method m : {fm::Method::implicit_scheme, fm::Method::explicit_scheme, fm::Method::euclidean, fm::Method::adam}) {
      const bool scheme = m == fm::Method::implicit_scheme || m == fm::Method::explicit_scheme;
      fm::MongeOptions o;
      o.method = m, o.steps = 1, o.inner = scheme ? inner : 1, o.batch = n, o.tau = 0.5, o.lr = 0.01, o.record_value = false;
      long wgrads = 0;
      const double s = fs::bench::median_seconds(
          [&] {
            auto pot = base->clone();
            wgrads = fm::train_monge_map(ctx, *pot, *F, fm::mixture_sampler(source), o).wgrad_evaluations;
          },
          1);
      line("monge.outer_step", d, s, 1 / s, "outer_steps/s",
           "\"method\": \"" + fm::to_string(m) + "\", \"inner\": " + std::to_string(o.inner) +
               ", \"wgrad_evaluations\": " + std::to_string(wgrads) + ", \"potential\": \"icnn 2 x 20\"");
    }
  }
  return 0;
}
