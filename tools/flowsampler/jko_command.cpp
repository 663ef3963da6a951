// `flowsampler jko --data X.npy (--to-normal | --target T.json) --h H --steps K
//   [--estimator blob|kde-corrected|kde|ot] [--model DIR] --out XK.npy --report R.json` and
// `flowsampler jko-sample --model DIR --n N --out Y.npy`.
#include "cli_checks.hpp"
#include "jko_command.hpp"
#include "command.hpp"
#include "jko_run.hpp"

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>

#include "checked_output.hpp"
#include "outputs.hpp"
#include "progress.hpp"
#include "flowsampler/core/sizes.hpp"
#include "flowsampler/flowsampler.hpp"
#include "flowsampler/jko/flow.hpp"
#include "flowsampler/jko/model.hpp"
#include "device_report.hpp"

namespace flowsampler::cli {

namespace {

template <class Real>
int run_jko_typed(const JkoOptions& o, const std::string& backend_name) {
  const auto wall0 = std::chrono::steady_clock::now();
  FLOWSAMPLER_EXPECTS(o.to_normal != !o.target.empty(), "jko: give exactly one of --to-normal and --target");
  // Under mpirun each rank iterates its shard of every step; rank 0 writes every output.
  const Communicator comm = Communicator::world();
  FLOWSAMPLER_EXPECTS(comm.size() == 1 || o.model.empty(),
                      "--model: under mpirun (" << comm.size() << " ranks) jko runs without a model (its inversion check "
                                                << "runs as one process); drop --model or run as one process");
  Outputs outputs;  // checked and staged before any work: --out may not lie inside --model
  std::string model_dir, out, report;
  if (comm.is_root()) {
    outputs.input("--data", o.data);
    outputs.target("--target", o.target);
    model_dir = outputs.directory("--model", o.model);
    out = outputs.file("--out", o.out), report = outputs.file("--report", o.report);
  }
  Context ctx = Context::create(parse_backend(backend_name, "--backend"), o.seed);
  const ParticleSet<Real> x0 = io::read_particles<Real>(ctx, o.data);
  const targets::GaussianMixture target = o.to_normal ? targets::GaussianMixture(1) : targets::load_target(o.target);
  JkoProblem p = jko_problem(o, x0.n(), x0.d(), o.to_normal ? nullptr : &target);
  jko::FlowOptions& fo = p.flow;
  fo.step.comm = &comm;
  const Progress progress(o.progress && comm.is_root());
  fo.on_step = [&](const jko::StepRecord& r) {
    char status[64];
    std::snprintf(status, sizeof status, "solver eps %.2e  inner %d", r.solver_eps, r.inner);
    progress.draw(double(r.k + 1) / o.steps, r.k + 1, o.steps, status);
  };
  jko::FlowResult<Real> r;
  nlohmann::json inversion = nullptr;
  if (!o.model.empty()) {
    const auto model = train_jko_model(ctx, p, x0, &r);
    model.save(model_dir, o.precision);
    inversion = inversion_json(model.inversion_error(ctx));
    r.x = model.clouds().back().copy(ctx);
  } else {
    r = run_jko_flow(ctx, p, x0, o.explicit_step);
  }
  if (!comm.is_root()) return 0;
  write_cloud(out, r.x, std::string("jko (") + (o.explicit_step ? "explicit" : "implicit") + " steps): the final cloud for --out",
              kJkoBlowUp);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  if (!o.report.empty()) {
    nlohmann::json rec = nlohmann::json::array();
    for (const auto& s : r.records) rec.push_back(record_json(s));
    const nlohmann::json j = {{"command", "jko"}, {"backend", to_string(ctx.backend())}, {"precision", o.precision},
                              {"n", x0.n()}, {"dim", x0.d()}, {"target", o.to_normal ? "N(0, I)" : o.target},
                              {"estimator", o.estimator}, {"steps", r.steps.size()}, {"h", r.steps},
                              {"explicit", o.explicit_step}, {"stopped_by_tolerance", r.stopped_by_tolerance},
                              {"model", o.model.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.model)},
                              {"inversion_error", inversion}, {"ranks", comm.size()}, {"wall_seconds", wall}, {"records", rec},
                              {"device", device_report(ctx)}};
    write_json(report, j);
  }
  outputs.publish();
  return 0;
}

template <class Real>
int run_sample_typed(const JkoSampleOptions& o, const std::string& backend_name) {
  Outputs outputs;
  outputs.input("--model", o.model);
  const std::string out = outputs.file("--out", o.out);
  Context ctx = Context::create(parse_backend(backend_name, "--backend"), o.seed);
  const auto model = jko::JkoModel<Real>::load(ctx, o.model);
  const ParticleSet<Real> y = generate_jko_samples(ctx, model, o.n);
  write_cloud(out, y, "jko-sample: the samples for --out", kJkoSampleBlowUp);
  outputs.publish();
  return 0;
}

}  // namespace

int run_jko(const JkoOptions& o, const std::string& backend) {
  return o.precision == "float" ? run_jko_typed<float>(o, backend) : run_jko_typed<double>(o, backend);
}

int run_jko_sample(const JkoSampleOptions& o, const std::string& backend) {
  return o.precision == "float" ? run_sample_typed<float>(o, backend) : run_sample_typed<double>(o, backend);
}

namespace {

class JkoCommand final : public Command {
 public:
  const char* name() const override { return "jko"; }
  const char* summary() const override {
    return "JKO (Wasserstein proximal) steps of KL(. || pi) from a data cloud; optionally keep a JKO flow model";
  }
  void add_options(CLI::App& sub) override {
    sub.add_option("--data", o_.data, "the data cloud X_0 (.npy, N x d)")->required()->check(regular_file);
    auto* normal = sub.add_flag("--to-normal", o_.to_normal, "pi = N(0, I)");
    auto* target = sub.add_option("--target", o_.target, "pi as a target spec (JSON)")->check(regular_file)->excludes(normal);
    normal->excludes(target);
    sub.add_option("--h", o_.h, "step size h (the first one for --schedule geometric)")->capture_default_str()->check(positive_number);
    sub.add_option("--steps", o_.steps, "number of JKO steps K")->capture_default_str()->check(CLI::Range(1, 1000000));
    sub.add_option("--schedule", o_.schedule, "constant or geometric (h ratio^k)")->capture_default_str()->check(CLI::IsMember({"constant", "geometric"}));
    sub.add_option("--ratio", o_.ratio, "geometric schedule ratio")->capture_default_str()->check(positive_number);
    sub.add_option("--step-list", o_.steps_list, "explicit steps h_0,h_1,... (overrides --h/--schedule)")->delimiter(',');
    sub.add_option("--estimator", o_.estimator, "score of rho: blob (closest to the exact JKO step of the estimators), kde-corrected (the KDE score with its Gaussian "
                    "smoothing bias removed), kde or ot")
        ->capture_default_str()
        ->check(CLI::IsMember(names(jko::score_estimator_names)));
    sub.add_option("--bandwidth", o_.bandwidth, "kde/blob bandwidth (default: Silverman's rule per step)")->check(CLI::NonNegativeNumber);
    sub.add_option("--ot-eps", o_.ot_eps, "ot: entropic eps (default 0.05 x median squared distance per step)")->check(CLI::NonNegativeNumber);
    sub.add_option("--tol", o_.tol, "first-order residual tolerance (default: relative 1e-7 double / 1e-3 float)")->check(CLI::NonNegativeNumber);
    sub.add_option("--max-inner", o_.max_inner, "inner iterations per step at most")->capture_default_str()->check(CLI::Range(1, 100000));
    sub.add_option("--anderson", o_.anderson, "Anderson memory of the inner iteration (0: damped fixed point)")->capture_default_str()->check(CLI::Range(0, 32));
    sub.add_flag("--explicit", o_.explicit_step, "forward Euler steps instead (for comparison)");
    add_progress_flag(sub, o_.progress);
    sub.add_option("--w2-tol", o_.w2_tol, "stop once the Bures W2 to pi is below this")->check(CLI::NonNegativeNumber);
    sub.add_option("--kl-tol", o_.kl_tol, "stop once the KL estimate to pi is below this")->check(CLI::NonNegativeNumber);
    sub.add_option("--diagnostic-points", o_.diagnostic_points, "particles used by the MMD, KL and Lipschitz diagnostics (0: off)")->capture_default_str()->check(count(0, std::uint64_t(1) << 40));
    sub.add_option("--model", o_.model, "write the JKO flow model (clouds X_0..X_K + manifest.json) to this directory");
    sub.add_option("--out", o_.out, "final cloud X_K (.npy)")->required();
    sub.add_option("--report", o_.report, "JSON report with the per-step records");
    add_seed_option(sub, o_.seed, "random seed (draws of pi for the diagnostics)");
    add_precision_option(sub, o_.precision);
  }
  int run(const std::string& backend) override { return run_jko(o_, backend); }
  bool runs_under_mpirun() const override { return true; }

 private:
  JkoOptions o_;
};

class JkoSampleCommand final : public Command {
 public:
  const char* name() const override { return "jko-sample"; }
  const char* summary() const override { return "Generate from a JKO flow model: fresh pi draws run back through the stored steps"; }
  void add_options(CLI::App& sub) override {
    sub.add_option("--model", o_.model, "model directory written by `jko --model`")->required();
    sub.add_option("--n", o_.n, "number of samples")->capture_default_str()->check(count(1, std::uint64_t(1) << 40));
    sub.add_option("--out", o_.out, "samples (.npy, N x d)")->required();
    add_seed_option(sub, o_.seed);
    add_precision_option(sub, o_.precision);
  }
  int run(const std::string& backend) override { return run_jko_sample(o_, backend); }

 private:
  JkoSampleOptions o_;
};

}  // namespace

std::unique_ptr<Command> make_jko_command() { return std::make_unique<JkoCommand>(); }
std::unique_ptr<Command> make_jko_sample_command() { return std::make_unique<JkoSampleCommand>(); }

}  // namespace flowsampler::cli
