// `flowsampler monge --source S.json|S.npy --target T.json|T.npy --potential lse|icnn
//   --method implicit|explicit|euclidean|adam [--functional kl|mmd|sinkhorn] ... --out MAP_DIR
//   [--report R.json]` and `flowsampler monge-apply --map MAP_DIR --x X.npy --out Y.npy`.
#include "monge_command.hpp"
#include "command.hpp"
#include "monge_run.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>

#include "checked_output.hpp"
#include "cli_checks.hpp"
#include "outputs.hpp"
#include "progress.hpp"
#include "flowsampler/flowsampler.hpp"
#include "flowsampler/jko/score.hpp"
#include "flowsampler/monge/map_io.hpp"
#include "flowsampler/monge/potential.hpp"
#include "flowsampler/monge/train.hpp"

namespace flowsampler::cli {

namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

int run_monge(const MongeCliOptions& o, const std::string& backend_name) {
  const auto wall0 = std::chrono::steady_clock::now();
  check_monge_options(o);  // before reading any file, so a typo fails fast
  Outputs outputs;  // checked and staged before any work
  outputs.target("--source", o.source);
  outputs.target("--target", o.target);
  const std::string map_dir = outputs.directory("--out", o.out), report = outputs.file("--report", o.report);
  Context ctx = monge_context(o, parse_backend(backend_name, "--backend"));

  // A .npy file is a cloud, anything else a spec.
  MongeInputs in;
  ParticleSet<double> source_cloud, target_samples;
  std::unique_ptr<targets::GaussianMixture> source_spec, target_spec;
  if (ends_with(o.source, ".npy")) {
    source_cloud = io::read_particles<double>(ctx, o.source);
    in.source_cloud = &source_cloud;
  } else {
    source_spec = std::make_unique<targets::GaussianMixture>(targets::load_target(o.source));
    in.source_spec = source_spec.get();
  }
  if (ends_with(o.target, ".npy")) {
    target_samples = io::read_particles<double>(ctx, o.target);
    in.target_samples = &target_samples;
  } else {
    target_spec = std::make_unique<targets::GaussianMixture>(targets::load_target(o.target));
    in.target_spec = target_spec.get();
  }
  const Progress progress(o.progress);
  in.progress = [&](int done, int total) { progress.draw(double(done) / total, done, total); };

  MongeRun run = run_monge_training(ctx, o, in);
  monge::save_map(map_dir, *run.potential, run.info);
  if (!o.report.empty()) {
    run.report["wall_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    write_json(report, run.report);
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
  const ParticleSet<double> y = apply_monge(ctx, *pot, x, o.map);
  if (o.precision == "float") {  // rounded on the host, at the file boundary
    const std::vector<double> h = y.to_host();
    ParticleSet<float> f(y.n(), y.d(), Memory::host);
    std::copy(h.begin(), h.end(), f.data());
    write_cloud(out, f, "monge-apply: T(x) for --out", kMongeApplyBlowUp);
  } else {
    write_cloud(out, y, "monge-apply: T(x) for --out", kMongeApplyBlowUp);
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
