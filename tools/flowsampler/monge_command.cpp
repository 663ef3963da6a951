// `flowsampler monge --source S.json|S.npy --target T.json|T.npy --potential lse|icnn
//   --method implicit|explicit|euclidean|adam [--functional kl|mmd|sinkhorn] ... --out MAP_DIR
//   [--report R.json]` and `flowsampler monge-apply --map MAP_DIR --x X.npy --out Y.npy`.
#include "monge_command.hpp"
#include "command.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>

#include <cstdio>

#include "checked_output.hpp"
#include "cli_checks.hpp"
#include "outputs.hpp"
#include "progress.hpp"
#include "flowsampler/core/sizes.hpp"
#include "flowsampler/flowsampler.hpp"
#include "flowsampler/metrics/mmd.hpp"
#include "flowsampler/monge/functional.hpp"
#include "flowsampler/monge/map_io.hpp"
#include "flowsampler/monge/potential.hpp"
#include "flowsampler/monge/train.hpp"
#include "device_report.hpp"

namespace flowsampler::cli {

namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

constexpr const char* kApplyBlowUp = "--x far outside the points the map was trained on (the potential's gradient "
                                     "overflows there), or values beyond float range with --precision float";

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

}  // namespace

int run_monge(const MongeCliOptions& o, const std::string& backend_name) {
  const auto wall0 = std::chrono::steady_clock::now();
  // Validate the names before reading any file, so a typo fails fast.
  monge::MongeOptions mo;
  mo.method = monge::parse_method(o.method, "--method");
  FLOWSAMPLER_EXPECTS(o.functional == "kl" || o.functional == "mmd" || o.functional == "sinkhorn",
                      "--functional: expected kl, mmd or sinkhorn, got '" << o.functional << "'");
  FLOWSAMPLER_EXPECTS(o.potential == "icnn" || o.potential == "lse", "--potential: expected lse or icnn, got '" << o.potential << "'");
  FLOWSAMPLER_EXPECTS(std::isfinite(o.tau) && o.tau > 0, "--tau: must be > 0, got " << o.tau);
  FLOWSAMPLER_EXPECTS(std::isfinite(o.lr) && o.lr > 0, "--lr: must be > 0, got " << o.lr);
  FLOWSAMPLER_EXPECTS(o.steps >= 1, "--steps: must be >= 1, got " << o.steps);
  FLOWSAMPLER_EXPECTS(o.inner >= 1, "--inner: must be >= 1, got " << o.inner);
  FLOWSAMPLER_EXPECTS(o.batch >= 2, "--batch: must be >= 2, got " << o.batch);
  FLOWSAMPLER_EXPECTS(std::isfinite(o.ot_eps) && o.ot_eps >= 0, "--ot-eps: must be >= 0, got " << o.ot_eps);
  FLOWSAMPLER_EXPECTS(std::isfinite(o.bandwidth) && o.bandwidth >= 0, "--bandwidth: must be >= 0 (0: Silverman's rule), got " << o.bandwidth);
  const jko::ScoreEstimator estimator = jko::parse_score_estimator(o.estimator, "--estimator");
  Outputs outputs;  // checked and staged before any work
  outputs.target("--source", o.source);
  outputs.target("--target", o.target);
  const std::string map_dir = outputs.directory("--out", o.out), report = outputs.file("--report", o.report);
  const Backend backend = parse_backend(backend_name, "--backend");
  // A batch of a few hundred points costs less than waking a thread team.
  Context ctx = Context::create(backend, o.seed, backend == Backend::cpu && o.batch < 1024 ? 1 : 0);

  // Source: a spec sampled afresh, or a cloud resampled with replacement.
  monge::Sampler source;
  std::size_t d = 0, source_points = 0;
  std::unique_ptr<targets::GaussianMixture> source_spec;
  ParticleSet<double> source_cloud;
  if (ends_with(o.source, ".npy")) {
    source_cloud = io::read_particles<double>(ctx, o.source);
    FLOWSAMPLER_EXPECTS(source_cloud.n() >= 2, "--source: " << o.source << " needs at least 2 points, got " << source_cloud.n());
    d = source_cloud.d();
    source_points = source_cloud.n();
    source = monge::cloud_sampler(source_cloud);
  } else {
    source_spec = std::make_unique<targets::GaussianMixture>(targets::load_target(o.source));
    d = source_spec->dim();
    source = monge::mixture_sampler(*source_spec);
  }

  // Target: a spec (KL's exact potential, or draws for MMD/Sinkhorn) or samples.
  std::unique_ptr<targets::GaussianMixture> target_spec;
  ParticleSet<double> target_samples;
  if (ends_with(o.target, ".npy")) {
    FLOWSAMPLER_EXPECTS(o.functional != "kl", "--target: kl needs the target's density, give a spec (JSON), not samples " << o.target);
    target_samples = io::read_particles<double>(ctx, o.target);
    FLOWSAMPLER_EXPECTS(target_samples.n() >= 1, "--target: " << o.target << " holds no points");
    FLOWSAMPLER_EXPECTS(target_samples.d() == d, "--target: d = " << target_samples.d() << ", --source has d = " << d);
  } else {
    target_spec = std::make_unique<targets::GaussianMixture>(targets::load_target(o.target));
    FLOWSAMPLER_EXPECTS(target_spec->dim() == d, "--target: d = " << target_spec->dim() << ", --source has d = " << d);
    if (o.functional != "kl") {
      FLOWSAMPLER_EXPECTS(o.target_samples >= 1, "--target-samples: must be >= 1");
      expect_fits_in_memory(checked_mul(o.target_samples, d * sizeof(double), "--target-samples"),
                            "--target-samples " + std::to_string(o.target_samples));
      target_samples = target_spec->sample<double>(ctx, o.target_samples);
    }
  }

  std::unique_ptr<monge::Functional> F;
  if (o.functional == "kl") {
    monge::KlOptions ko;
    ko.score = estimator;
    ko.bandwidth = o.bandwidth;
    ko.ot_eps = o.ot_eps;
    ko.check = o.allow_non_log_concave ? monge::LogConcaveCheck::warn : monge::LogConcaveCheck::refuse;
    F = monge::make_kl(ctx, *target_spec, ko);
  } else if (o.functional == "mmd") {
    F = monge::make_mmd(ctx, target_samples);
  } else {
    F = monge::make_sinkhorn(ctx, target_samples, o.ot_eps);
  }

  // The potential's own checks do not know the options' names: check here.
  FLOWSAMPLER_EXPECTS(o.potential == "icnn" || o.potential == "lse", "--potential: expected icnn or lse, got '" << o.potential << "'");
  FLOWSAMPLER_EXPECTS(std::isfinite(o.lse_s) && o.lse_s > 0, "--lse-s: expected a number > 0, got " << o.lse_s);
  FLOWSAMPLER_EXPECTS(o.pieces >= 1, "--pieces: expected >= 1, got " << o.pieces);
  FLOWSAMPLER_EXPECTS(!o.widths.empty(), "--widths: expected at least one hidden width");
  for (std::size_t w : o.widths) FLOWSAMPLER_EXPECTS(w >= 1, "--widths: every width must be >= 1, got " << w);
  FLOWSAMPLER_EXPECTS(o.init == "identity" || o.init == "seed", "--init: expected identity or seed, got '" << o.init << "'");
  // The network's activations for a batch (value, slope and their tangents per layer), before allocating them.
  std::size_t width_sum = d;
  for (std::size_t w : o.widths) width_sum = checked_add(width_sum, w, "--widths");
  expect_fits_in_memory(checked_mul(checked_mul(std::max(o.batch, o.eval_points), width_sum, "--batch"), 6 * sizeof(double), "--batch"),
                        "--batch " + std::to_string(o.batch) + " with --widths");
  monge::PotentialSpec ps;
  ps.type = o.potential;
  ps.dim = d;
  ps.widths = o.widths;
  ps.skip = !o.no_skip;
  ps.pieces = o.pieces;
  ps.s = o.lse_s;
  ps.init = o.init;
  ps.seed = o.seed;
  const auto pot = monge::make_potential(ps);

  mo.tau = o.tau;
  mo.steps = o.steps;
  mo.inner = o.inner;
  mo.lr = o.lr;
  mo.batch = o.batch;
  mo.seed = o.seed;
  mo.identity_first_step = o.identity_first_step;
  const Progress progress(o.progress);
  mo.on_step = [&](int done, int total) { progress.draw(double(done) / total, done, total); };

  // Quality records on fixed clouds drawn from their own stream.
  ParticleSet<double> eval_src, eval_tgt;
  monge::MongeEval ev;
  double ed_identity = NAN;
  if (o.eval_points > 0) {
    expect_fits_in_memory(checked_mul(o.eval_points, d * 4 * sizeof(double), "--eval-points"),
                          "--eval-points " + std::to_string(o.eval_points));
    // Drawn on the CPU (the same numbers on every backend) and moved once to
    // ctx's memory, where every record evaluates them.
    Context ec = Context::create(Backend::cpu, o.seed ^ 0xe7a1ull);
    eval_src = source(ec, o.eval_points).copy(ctx);
    eval_tgt = target_spec ? target_spec->sample<double>(ec, o.eval_points).copy(ctx) : target_samples.copy(ctx);
    ev = monge::MongeEval{&eval_src, &eval_tgt};
    ed_identity = metrics::energy_distance(ctx, eval_src, eval_tgt);
  }

  const monge::MongeReport rep = monge::train_monge_map(ctx, *pot, *F, source, mo, ev);
  const nlohmann::json kl_estimator = o.functional == "kl" ? nlohmann::json(jko::to_string(estimator)) : nlohmann::json(nullptr);
  const nlohmann::json info = {{"method", monge::to_string(mo.method)}, {"functional", o.functional}, {"source", o.source},
                               {"target", o.target}, {"estimator", kl_estimator}, {"tau", o.tau}, {"steps", o.steps}, {"inner", o.inner},
                               {"lr", o.lr}, {"batch", o.batch}, {"seed", o.seed}};
  expect_finite(pot->params().data(), pot->num_params(), 1, "monge (" + monge::to_string(mo.method) + "): the map's parameters",
                "training diverged: lower --lr (or --tau), or a larger --batch");
  monge::save_map(map_dir, *pot, info.dump());
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  if (!o.report.empty()) {
    nlohmann::json rec = nlohmann::json::array();
    for (const auto& r : rep.history)
      rec.push_back({{"step", r.step}, {"time", r.time}, {"value", num(r.value)},
                     {"energy_distance", num(r.energy_distance)}, {"seconds", r.seconds}});
    const bool scheme = mo.method == monge::Method::implicit_scheme || mo.method == monge::Method::explicit_scheme;
    const nlohmann::json j = {{"command", "monge"}, {"backend", to_string(ctx.backend())}, {"precision", "double"},
                              {"n", o.batch}, {"source_points", source_cloud.n() ? nlohmann::json(source_points) : nlohmann::json(nullptr)}, {"dim", d},
                              {"method", monge::to_string(mo.method)}, {"functional", o.functional},
                              {"estimator", kl_estimator}, {"potential", o.potential}, {"params", pot->num_params()},
                              {"tau", scheme ? num(o.tau) : nlohmann::json(nullptr)}, {"steps", o.steps},
                              {"inner", scheme ? nlohmann::json(o.inner) : nlohmann::json(nullptr)}, {"lr", o.lr},
                              {"seed", o.seed}, {"eval_points", o.eval_points},
                              {"energy_distance_identity", num(ed_identity)},
                              {"energy_distance", rep.history.empty() ? nlohmann::json(nullptr) : num(rep.history.back().energy_distance)},
                              {"wgrad_evaluations", rep.wgrad_evaluations}, {"map_gradients", rep.map_gradients},
                              {"train_seconds", rep.seconds}, {"wall_seconds", wall}, {"map", o.out}, {"records", rec},
                              {"device", device_report(ctx)}};
    write_json(report, j);
  }
  outputs.publish();
  return 0;
}

int run_monge_apply(const MongeApplyOptions& o, const std::string& backend_name) {
  Outputs outputs;
  outputs.input("--map", o.map);
  outputs.input("--x", o.x);
  const std::string out = outputs.file("--out", o.out);
  Context ctx = Context::create(parse_backend(backend_name, "--backend"));
  const auto pot = monge::load_map(o.map);
  const ParticleSet<double> x = io::read_particles<double>(ctx, o.x);
  FLOWSAMPLER_EXPECTS(x.d() == pot->dim(), "--x: d = " << x.d() << ", the map in " << o.map << " has d = " << pot->dim());
  const ParticleSet<double> y = monge::apply_map(ctx, *pot, x);
  if (o.precision == "float") {  // rounded on the host, at the file boundary
    const std::vector<double> h = y.to_host();
    ParticleSet<float> f(y.n(), y.d(), Memory::host);
    std::copy(h.begin(), h.end(), f.data());
    write_cloud(out, f, "monge-apply: T(x) for --out", kApplyBlowUp);
  } else {
    write_cloud(out, y, "monge-apply: T(x) for --out", kApplyBlowUp);
  }
  outputs.publish();
  return 0;
}

namespace {

class MongeCommand final : public Command {
 public:
  const char* name() const override { return "monge"; }
  const char* summary() const override {
    return "Learn a Monge map T = grad phi (convex potential) from a source towards a target "
           "by constrained drifting (implicit/explicit) or Euclidean descent";
  }
  void add_options(CLI::App& sub) override {
    sub.add_option("--source", o_.source, "source rho: a target spec (JSON, sampled afresh) or a cloud (.npy, resampled)")
        ->required()->check(regular_file);
    sub.add_option("--target", o_.target, "target: a spec (JSON; kl needs one), or samples (.npy) for mmd/sinkhorn")
        ->required()->check(regular_file);
    sub.add_option("--potential", o_.potential, "lse or icnn")->capture_default_str();
    sub.add_option("--method", o_.method, name_list(monge::method_names))->capture_default_str()->check(CLI::IsMember(names(monge::method_names)));
    sub.add_option("--functional", o_.functional, "kl, mmd (energy kernel) or sinkhorn")->capture_default_str();
    sub.add_option("--tau", o_.tau, "implicit/explicit: time step (> 0)")->capture_default_str();
    sub.add_option("--steps", o_.steps, "outer steps (euclidean/adam: optimizer steps)")->capture_default_str();
    sub.add_option("--inner", o_.inner, "implicit/explicit: inner Adam steps per outer step")->capture_default_str();
    sub.add_option("--lr", o_.lr, "inner Adam lr (implicit/explicit), or the lr of euclidean/adam")->capture_default_str();
    sub.add_option("--batch", o_.batch, "source points per (inner) step, drawn afresh each time")->capture_default_str()
        ->check(count(0, std::numeric_limits<int>::max()));
    sub.add_option("--widths", o_.widths, "icnn: hidden widths, comma-separated")->delimiter(',')->capture_default_str()->check(count(1, 1u << 20));
    sub.add_option("--pieces", o_.pieces, "lse: affine pieces K")->capture_default_str()->check(count(1, 1u << 20));
    sub.add_option("--lse-s", o_.lse_s, "lse: temperature s (> 0)")->capture_default_str();
    sub.add_option("--init", o_.init, "identity (T starts near x) or seed (icnn: the seed code's PyTorch draws; use with --no-skip)")
        ->capture_default_str();
    sub.add_flag("--no-skip", o_.no_skip, "icnn: no (q/2)|x|^2 + v.x term");
    add_progress_flag(sub, o_.progress);
    sub.add_flag("--identity-first-step", o_.identity_first_step, "explicit: take T_0 = identity in the first step (as the seed's code)");
    sub.add_option("--estimator", o_.estimator, "kl: score of the pushed batch: blob (closest to unbiased from 200 points up), "
                   "kde-corrected, kde, or ot (the seed's self-entropic-OT estimate)")
        ->capture_default_str()->check(CLI::IsMember(names(jko::score_estimator_names)));
    sub.add_option("--bandwidth", o_.bandwidth, "kl with blob/kde/kde-corrected: kernel bandwidth (0: Silverman's rule per batch)")
        ->capture_default_str();
    sub.add_option("--ot-eps", o_.ot_eps, "kl with ot: eps of the entropic-OT score; sinkhorn: eps (0: 0.05 x median squared distance)")
        ->capture_default_str();
    sub.add_flag("--allow-non-log-concave", o_.allow_non_log_concave, "kl: warn instead of refusing a target that is not log-concave");
    sub.add_option("--target-samples", o_.target_samples, "mmd/sinkhorn with a JSON target: its draws used as samples")
        ->capture_default_str()->check(count(0, std::uint64_t(1) << 40));
    sub.add_option("--eval-points", o_.eval_points,
                  "record the energy distance between T(source draws) and target draws on this many points (0: off)")
        ->capture_default_str()->check(count(0, std::numeric_limits<int>::max()));
    add_seed_option(sub, o_.seed, "random seed (initial potential and all draws)");
    sub.add_option("--out", o_.out, "map directory to write (manifest.json, params.npy)")->required();
    sub.add_option("--report", o_.report, "JSON report with the per-step records");
  }
  int run(const std::string& backend) override { return run_monge(o_, backend); }

 private:
  MongeCliOptions o_;
};

class MongeApplyCommand final : public Command {
 public:
  const char* name() const override { return "monge-apply"; }
  const char* summary() const override { return "Push a cloud through a map saved by `monge`"; }
  void add_options(CLI::App& sub) override {
    sub.add_option("--map", o_.map, "map directory written by `monge --out`")->required();
    sub.add_option("--x", o_.x, "points (.npy, N x d)")->required()->check(regular_file);
    sub.add_option("--out", o_.out, "T(x) (.npy, N x d)")->required();
    add_precision_option(sub, o_.precision, "float or double (of the output file)");
  }
  int run(const std::string& backend) override { return run_monge_apply(o_, backend); }

 private:
  MongeApplyOptions o_;
};

}  // namespace

std::unique_ptr<Command> make_monge_command() { return std::make_unique<MongeCommand>(); }
std::unique_ptr<Command> make_monge_apply_command() { return std::make_unique<MongeApplyCommand>(); }

}  // namespace flowsampler::cli
