// `flowsampler metrics --x A.npy (--y B.npy | --target T.json) [what]`.
#include "metrics_command.hpp"
#include "command.hpp"

#include <chrono>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>

#include "flowsampler/core/sizes.hpp"
#include "flowsampler/flowsampler.hpp"
#include "flowsampler/metrics/exact_w2.hpp"
#include "flowsampler/metrics/fisher.hpp"
#include "flowsampler/metrics/gaussian_w2.hpp"
#include "flowsampler/metrics/knn.hpp"
#include "flowsampler/metrics/map_distance.hpp"
#include "flowsampler/metrics/mmd.hpp"
#include "flowsampler/metrics/sinkhorn.hpp"
#include "flowsampler/metrics/sliced_w2.hpp"
#include "device_report.hpp"

namespace flowsampler::cli {

namespace {

namespace fm = flowsampler::metrics;

// "gaussian:0.5" -> {gaussian, 0.5}.
pairwise::KernelSpec parse_mmd(const std::string& spec) {
  const auto colon = spec.find(':');
  FLOWSAMPLER_EXPECTS(colon != std::string::npos, "--mmd: expected KERNEL:BANDWIDTH (e.g. gaussian:0.5), got '" << spec << "'");
  pairwise::KernelSpec k;
  k.kind = pairwise::parse_kernel(spec.substr(0, colon), "--mmd kernel");
  try {
    std::size_t used = 0;
    k.bandwidth = std::stod(spec.substr(colon + 1), &used);
    FLOWSAMPLER_EXPECTS(used == spec.size() - colon - 1, "");
  } catch (const std::exception&) {
    FLOWSAMPLER_EXPECTS(false, "--mmd: the bandwidth in '" << spec << "' is not a number");
  }
  FLOWSAMPLER_EXPECTS(std::isfinite(k.bandwidth) && k.bandwidth > 0, "--mmd: the bandwidth must be > 0, got " << k.bandwidth);
  return k;
}

template <class Real>
int run_typed(const MetricsOptions& o, const std::string& backend_name) {
  Context ctx = Context::create(parse_backend(backend_name, "--backend"), o.seed);
  FLOWSAMPLER_EXPECTS(o.y.empty() || o.target.empty(), "metrics: give --y or --target, not both");
  // Without --y and --target only the one-cloud metrics of x have a meaning.
  const bool one_cloud = o.y.empty() && o.target.empty();
  const bool any = !o.mmd.empty() || o.sliced_w2 || o.sinkhorn || o.exact_w2 || o.bures || o.energy || o.map_distance ||
                   o.kl || o.entropy || o.moments || !o.fisher_against.empty();
  if (one_cloud) {
    const bool two_cloud = !o.mmd.empty() || o.sliced_w2 || o.sinkhorn || o.exact_w2 || o.bures || o.energy ||
                           o.map_distance || o.kl || !o.fisher_against.empty();
    FLOWSAMPLER_EXPECTS(!two_cloud, "metrics: --mmd, --sliced-w2, --sinkhorn, --exact-w2, --bures, --energy, --map-distance, "
                                    "--kl and --fisher-against compare x with --y or --target; give one of them "
                                    "(--moments and --entropy need --x alone)");
  }
  const ParticleSet<Real> x = io::read_particles<Real>(ctx, o.x);
  FLOWSAMPLER_EXPECTS(x.n() > 0, "--x: " << o.x << " holds no particles");
  nlohmann::json out = {{"x", o.x}, {"n", x.n()}, {"dim", x.d()}, {"precision", o.precision},
                        {"backend", to_string(ctx.backend())}};
  nlohmann::json& m = out["metrics"];
  nlohmann::json& seconds = out["seconds"];
  // Under mpirun the N x M metrics (Sinkhorn, MMD, energy) are split over the
  // ranks by rows (each reads both clouds whole: timed(..., true)); the others run
  // on rank 0 alone, which prints. The report lists the split ones.
  const Communicator comm = Communicator::world();
  out["ranks"] = comm.size();
  auto timed = [&](const std::string& name, auto&& f, bool split = false) {
    if (split && comm.size() > 1) out["split_over_ranks"].push_back(name);
    if (!comm.is_root() && !split) return;
    const auto t0 = std::chrono::steady_clock::now();
    f();
    seconds[name] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  ParticleSet<Real> y;
  targets::GaussianMixture target(1);
  const bool with_target = !o.target.empty();
  if (with_target) {
    target = targets::load_target(o.target);
    FLOWSAMPLER_EXPECTS(target.dim() == x.d(), "--target: " << o.target << " has d = " << target.dim() << ", --x has d = " << x.d());
    const std::size_t draws = o.target_samples ? o.target_samples : x.n();
    expect_fits_in_memory(checked_mul(draws, 4 * x.d() * sizeof(Real), "--target-samples"),
                          "--target-samples " + std::to_string(draws));
    y = target.sample<Real>(ctx, draws);
    out["target"] = o.target;
    out["target_samples"] = draws;
  } else if (!one_cloud) {
    y = io::read_particles<Real>(ctx, o.y);
    FLOWSAMPLER_EXPECTS(y.d() == x.d(), "--y: " << o.y << " has d = " << y.d() << ", --x has d = " << x.d());
    FLOWSAMPLER_EXPECTS(y.n() > 0, "--y: " << o.y << " holds no particles");
    out["y"] = o.y;
    out["m"] = y.n();
  }
  // With nothing asked: the cheap, always-meaningful set (x's moments alone for one cloud).
  const bool bures = !one_cloud && (o.bures || !any), energy = !one_cloud && (o.energy || !any);
  const int sliced = o.sliced_w2 ? o.sliced_w2 : (any || one_cloud ? 0 : 128);
  if (o.moments || (one_cloud && !any)) {
    timed("moments", [&] {
      const std::vector<double> mu = fm::mean(ctx, x);
      m["mean"] = mu;
      if (x.n() >= 2) {
        const std::vector<double> c = fm::covariance(ctx, x, true);
        nlohmann::json rows = nlohmann::json::array();
        for (std::size_t a = 0; a < x.d(); ++a)
          rows.push_back(std::vector<double>(c.begin() + std::ptrdiff_t(a * x.d()), c.begin() + std::ptrdiff_t((a + 1) * x.d())));
        m["covariance"] = rows;
        m["covariance_estimator"] = "unbiased (divides by n - 1)";
      }
    });
  }
  if (bures) {
    timed("bures", [&] {
      if (with_target) {
        m["bures_w2_squared"] = fm::bures_w2_squared(fm::mean(ctx, x), fm::covariance(ctx, x, false),
                                                     targets::mixture_mean(target), targets::mixture_covariance(target));
        m["bures_against"] = "the target's exact mean and covariance";
      } else {
        m["bures_w2_squared"] = fm::gelbrich_w2_squared(ctx, x, y);
        m["bures_against"] = "the mean and covariance of y (the Gelbrich lower bound on W2^2)";
      }
    });
  }
  if (energy) timed("energy", [&] { m["energy_distance"] = fm::energy_distance(ctx, x, y, &comm); }, true);
  for (const std::string& spec : o.mmd) {
    const auto k = parse_mmd(spec);
    timed("mmd " + spec, [&] {
      m["mmd2 " + spec + (o.unbiased ? " unbiased" : " biased")] = fm::mmd_squared(ctx, k, x, y, o.unbiased, &comm);
    }, true);
  }
  if (sliced) {
    timed("sliced_w2", [&] {
      const auto r = fm::sliced_w2(ctx, x, y, sliced, o.seed);
      m["sliced_w2_squared"] = r.w2_squared;
      m["sliced_w2_std_error"] = r.std_error;
      m["sliced_w2_projections"] = sliced;
    });
  }
  if (o.sinkhorn > 0) {
    timed("sinkhorn", [&] {
      fm::SinkhornOptions so;
      so.eps = o.sinkhorn;
      so.tol = o.sinkhorn_tol;
      so.max_iter = o.sinkhorn_max_iter;
      so.comm = &comm;
      const auto r = fm::sinkhorn(ctx, x, y, so);
      m["sinkhorn"] = {{"eps", o.sinkhorn}, {"ot_eps", r.ot}, {"transport_cost", r.cost}, {"divergence", r.divergence},
                       {"iterations", r.iterations}, {"eps_stages", r.stages}, {"marginal_error", r.marginal_error}};
    }, true);
  }
  if (o.exact_w2) {
    timed("exact_w2", [&] {
      const auto a = fm::exact_assignment(x, y);
      m["exact_w2_squared"] = a.cost;
    });
  }
  if (o.map_distance) {
    FLOWSAMPLER_EXPECTS(!with_target, "--map-distance: needs --y, the images of the same inputs as --x");
    timed("map_distance", [&] {
      const auto r = fm::map_distance(ctx, x, y);
      m["map_distance_l2"] = r.l2;
      m["map_distance_max"] = r.max;
    });
  }
  if (o.entropy) timed("entropy", [&] { m["knn_entropy"] = fm::knn_entropy(ctx, x, o.knn_k); });
  if (o.kl) {
    timed("kl", [&] {
      if (with_target) {
        // KL(x || T) = -H(x) - E_x log p_T: the kNN entropy and the exact log-density.
        const fields::GmmField field(target);
        fields::FieldRequest req;
        req.log_density = true;
        const std::vector<double> lp = metrics::column_sums(ctx, field.evaluate(ctx, {1, 0, 0, 0, 0}, x, req).log_density);
        m["kl"] = -fm::knn_entropy(ctx, x, o.knn_k) - lp[0] / double(x.n());
        m["kl_method"] = "-(kNN entropy of x) - mean log p_target(x)";
      } else {
        // Coincident points have no density: the kNN estimate would still be a finite number (issue 19).
        const std::vector<double> cov = fm::covariance(ctx, y, false);
        double spread = 0;
        for (std::size_t k = 0; k < y.d(); ++k) spread += cov[k * y.d() + k];
        FLOWSAMPLER_EXPECTS(spread > 0, "--kl: all " << y.n() << " points of --y " << o.y
                                                     << " coincide; KL(x || y) is infinite against a cloud without spread");
        m["kl"] = fm::knn_kl_divergence(ctx, x, y, o.knn_k);
        m["kl_method"] = "kNN (Wang, Kulkarni, Verdu 2009)";
      }
      m["knn_k"] = o.knn_k;
    });
  }
  if (!o.fisher_against.empty()) {
    FLOWSAMPLER_EXPECTS(with_target, "--fisher-against: needs --target (FI(target || other) of two mixtures)");
    expect_fits_in_memory(checked_mul(o.fisher_samples, 8 * x.d() * sizeof(double), "--fisher-samples"),
                          "--fisher-samples " + std::to_string(o.fisher_samples));
    timed("fisher", [&] {
      const auto r = fm::relative_fisher_information(ctx, target, targets::load_target(o.fisher_against), o.fisher_samples);
      m["fisher"] = {{"against", o.fisher_against}, {"value", r.value}, {"std_error", r.std_error}, {"sup_over_sample", r.sup},
                     {"samples", r.samples}};
    });
  }
  if (ctx.on_device()) out["device"] = device_report(ctx);
  if (comm.is_root()) std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace

int run_metrics(const MetricsOptions& o, const std::string& backend) {
  return o.precision == "float" ? run_typed<float>(o, backend) : run_typed<double>(o, backend);
}

namespace {

class MetricsCommand final : public Command {
 public:
  const char* name() const override { return "metrics"; }
  const char* summary() const override {
    return "Distances between two clouds (--y) or a cloud and a target (--target), or the moments and entropy of one cloud (--x alone); prints JSON";
  }
  bool writes_stdout() const override { return true; }
  bool runs_under_mpirun() const override { return true; }
  void add_options(CLI::App& sub) override {
    sub.add_option("--x", o_.x, "particles (.npy, N x d)")->required()->check(regular_file);
    auto* y_opt = sub.add_option("--y", o_.y, "particles (.npy, M x d)")->check(regular_file);
    sub.add_option("--target", o_.target, "target spec (JSON) instead of --y: its exact moments and scores, fresh draws for the rest")
        ->check(regular_file)->excludes(y_opt);
    sub.add_option("--mmd", o_.mmd, "KERNEL:BANDWIDTH (gaussian, laplace, imq, energy), repeatable");
    sub.add_flag("--unbiased", o_.unbiased, "MMD as the U-statistic (default: the V-statistic)");
    sub.add_option("--sliced-w2", o_.sliced_w2, "P: sliced W2^2 with P random directions")->check(CLI::Range(1, 1000000));
    sub.add_option("--sinkhorn", o_.sinkhorn, "EPS: entropic OT and the Sinkhorn divergence (cost |x - y|^2)")
        ->check(positive_number);
    sub.add_option("--sinkhorn-tol", o_.sinkhorn_tol, "stop when the L1 marginal error is below this")
        ->capture_default_str()->check(positive_number);
    sub.add_option("--sinkhorn-max-iter", o_.sinkhorn_max_iter, "iterations at the final eps (exit 2 beyond)")
        ->capture_default_str()->check(CLI::Range(1, 100000000));
    sub.add_flag("--exact-w2", o_.exact_w2, "exact W2^2 by optimal assignment (N = M <= 20000)");
    sub.add_flag("--bures", o_.bures, "Gaussian W2^2 between the moments (Gelbrich bound; exact moments with --target)");
    sub.add_flag("--energy", o_.energy, "energy distance");
    sub.add_flag("--map-distance", o_.map_distance, "||x - y||_L2 over paired rows (images of the same inputs)");
    sub.add_flag("--kl", o_.kl, "KL(x || y) by kNN, or KL(x || target) with the exact log-density");
    sub.add_flag("--entropy", o_.entropy, "kNN (Kozachenko-Leonenko) entropy of x");
    sub.add_flag("--moments", o_.moments, "mean and (unbiased) covariance of x; what a run with --x alone reports");
    sub.add_option("--knn-k", o_.knn_k, "k of the kNN estimators")->capture_default_str()->check(CLI::Range(1, 31));
    sub.add_option("--fisher-against", o_.fisher_against, "R.json: FI(target || R) by Monte Carlo with exact scores")
        ->check(regular_file);
    sub.add_option("--fisher-samples", o_.fisher_samples, "Monte Carlo draws for --fisher-against")->capture_default_str()->check(count(1, std::uint64_t(1) << 40));
    sub.add_option("--target-samples", o_.target_samples, "draws of --target for the sample-based metrics (default N)")
        ->check(count(0, std::uint64_t(1) << 40));
    add_seed_option(sub, o_.seed, "seed of the directions and draws");
    add_precision_option(sub, o_.precision);
  }
  int run(const std::string& backend) override { return run_metrics(o_, backend); }

 private:
  MetricsOptions o_;
};

}  // namespace

std::unique_ptr<Command> make_metrics_command() { return std::make_unique<MetricsCommand>(); }

}  // namespace flowsampler::cli
