// The computation of `flowsampler monge` (monge_run.hpp).
#include "monge_run.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "checked_output.hpp"
#include "device_report.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/core/sizes.hpp"
#include "flowsampler/metrics/mmd.hpp"
#include "flowsampler/monge/functional.hpp"
#include "flowsampler/monge/train.hpp"

namespace flowsampler::cli {

namespace {

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

}  // namespace

const char* const kMongeApplyBlowUp = "--x far outside the points the map was trained on (the potential's gradient "
                                      "overflows there), or values beyond float range with --precision float";

void check_monge_options(const MongeCliOptions& o) {
  monge::parse_method(o.method, "--method");
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
  jko::parse_score_estimator(o.estimator, "--estimator");
}

Context monge_context(const MongeCliOptions& o, Backend backend) {
  return Context::create(backend, o.seed, backend == Backend::cpu && o.batch < 1024 ? 1 : 0);
}

MongeRun run_monge_training(Context& ctx, const MongeCliOptions& o, const MongeInputs& in) {
  const auto wall0 = std::chrono::steady_clock::now();
  check_monge_options(o);
  monge::MongeOptions mo;
  mo.method = monge::parse_method(o.method, "--method");
  const jko::ScoreEstimator estimator = jko::parse_score_estimator(o.estimator, "--estimator");

  // Source: a spec sampled afresh, or a cloud resampled with replacement.
  FLOWSAMPLER_EXPECTS((in.source_spec == nullptr) != (in.source_cloud == nullptr), "--source: give a spec or a cloud");
  monge::Sampler source;
  std::size_t d = 0;
  if (in.source_cloud) {
    FLOWSAMPLER_EXPECTS(in.source_cloud->n() >= 2,
                        "--source: " << o.source << " needs at least 2 points, got " << in.source_cloud->n());
    d = in.source_cloud->d();
    source = monge::cloud_sampler(*in.source_cloud);
  } else {
    d = in.source_spec->dim();
    source = monge::mixture_sampler(*in.source_spec);
  }

  // Target: a spec (KL's exact potential, or draws for MMD/Sinkhorn) or samples.
  FLOWSAMPLER_EXPECTS((in.target_spec == nullptr) != (in.target_samples == nullptr), "--target: give a spec or samples");
  const targets::GaussianMixture* target_spec = in.target_spec;
  ParticleSet<double> drawn;
  const ParticleSet<double>* target_samples = in.target_samples;
  if (target_samples) {
    FLOWSAMPLER_EXPECTS(o.functional != "kl", "--target: kl needs the target's density, give a spec (JSON), not samples " << o.target);
    FLOWSAMPLER_EXPECTS(target_samples->n() >= 1, "--target: " << o.target << " holds no points");
    FLOWSAMPLER_EXPECTS(target_samples->d() == d, "--target: d = " << target_samples->d() << ", --source has d = " << d);
  } else {
    FLOWSAMPLER_EXPECTS(target_spec->dim() == d, "--target: d = " << target_spec->dim() << ", --source has d = " << d);
    if (o.functional != "kl") {
      FLOWSAMPLER_EXPECTS(o.target_samples >= 1, "--target-samples: must be >= 1");
      expect_fits_in_memory(checked_mul(o.target_samples, d * sizeof(double), "--target-samples"),
                            "--target-samples " + std::to_string(o.target_samples));
      drawn = target_spec->sample<double>(ctx, o.target_samples);
      target_samples = &drawn;
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
    F = monge::make_mmd(ctx, *target_samples);
  } else {
    F = monge::make_sinkhorn(ctx, *target_samples, o.ot_eps);
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
  MongeRun run;
  run.potential = monge::make_potential(ps);
  monge::ConvexPotential& pot = *run.potential;

  mo.tau = o.tau;
  mo.steps = o.steps;
  mo.inner = o.inner;
  mo.lr = o.lr;
  mo.batch = o.batch;
  mo.seed = o.seed;
  mo.identity_first_step = o.identity_first_step;
  if (in.progress) mo.on_step = in.progress;

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
    eval_tgt = target_spec ? target_spec->sample<double>(ec, o.eval_points).copy(ctx) : target_samples->copy(ctx);
    ev = monge::MongeEval{&eval_src, &eval_tgt};
    ed_identity = metrics::energy_distance(ctx, eval_src, eval_tgt);
  }

  const monge::MongeReport rep = monge::train_monge_map(ctx, pot, *F, source, mo, ev);
  const nlohmann::json kl_estimator = o.functional == "kl" ? nlohmann::json(jko::to_string(estimator)) : nlohmann::json(nullptr);
  run.info = nlohmann::json{{"method", monge::to_string(mo.method)}, {"functional", o.functional}, {"source", o.source},
                            {"target", o.target}, {"estimator", kl_estimator}, {"tau", o.tau}, {"steps", o.steps}, {"inner", o.inner},
                            {"lr", o.lr}, {"batch", o.batch}, {"seed", o.seed}}.dump();
  expect_finite(pot.params().data(), pot.num_params(), 1, "monge (" + monge::to_string(mo.method) + "): the map's parameters",
                "training diverged: lower --lr (or --tau), or a larger --batch");
  nlohmann::json rec = nlohmann::json::array();
  for (const auto& r : rep.history)
    rec.push_back({{"step", r.step}, {"time", r.time}, {"value", num(r.value)},
                   {"energy_distance", num(r.energy_distance)}, {"seconds", r.seconds}});
  const bool scheme = mo.method == monge::Method::implicit_scheme || mo.method == monge::Method::explicit_scheme;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  run.report = {{"command", "monge"}, {"backend", to_string(ctx.backend())}, {"precision", "double"},
                {"n", o.batch}, {"source_points", in.source_cloud ? nlohmann::json(in.source_cloud->n()) : nlohmann::json(nullptr)}, {"dim", d},
                {"method", monge::to_string(mo.method)}, {"functional", o.functional},
                {"estimator", kl_estimator}, {"potential", o.potential}, {"params", pot.num_params()},
                {"tau", scheme ? num(o.tau) : nlohmann::json(nullptr)}, {"steps", o.steps},
                {"inner", scheme ? nlohmann::json(o.inner) : nlohmann::json(nullptr)}, {"lr", o.lr},
                {"seed", o.seed}, {"eval_points", o.eval_points},
                {"energy_distance_identity", num(ed_identity)},
                {"energy_distance", rep.history.empty() ? nlohmann::json(nullptr) : num(rep.history.back().energy_distance)},
                {"wgrad_evaluations", rep.wgrad_evaluations}, {"map_gradients", rep.map_gradients},
                {"train_seconds", rep.seconds}, {"wall_seconds", wall}, {"map", o.out.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.out)},
                {"records", rec}, {"device", device_report(ctx)}};
  return run;
}

ParticleSet<double> apply_monge(const Context& ctx, const monge::ConvexPotential& pot, const ParticleSet<double>& x,
                                const std::string& map) {
  FLOWSAMPLER_EXPECTS(x.d() == pot.dim(), "--x: d = " << x.d() << ", the map in " << map << " has d = " << pot.dim());
  return monge::apply_map(ctx, pot, x);
}

}  // namespace flowsampler::cli
