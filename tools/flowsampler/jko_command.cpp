// `flowsampler jko --data X.npy (--to-normal | --target T.json) --h H --steps K
//   [--estimator blob|kde-corrected|kde|ot] [--model DIR] --out XK.npy --report R.json` and
// `flowsampler jko-sample --model DIR --n N --out Y.npy`.
#include "cli_checks.hpp"
#include "jko_command.hpp"
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

CLI::App* add_jko_commands(CLI::App& app, JkoOptions& o, JkoSampleOptions& s, std::string& backend, JkoCommands* commands) {
  CLI::App* jko = app.add_subcommand("jko", "JKO (Wasserstein proximal) steps of KL(. || pi) from a data cloud; optionally keep a JKO flow model");
  jko->add_option("--data", o.data, "the data cloud X_0 (.npy, N x d)")->required()->check(flowsampler::cli::regular_file);
  auto* normal = jko->add_flag("--to-normal", o.to_normal, "pi = N(0, I)");
  auto* target = jko->add_option("--target", o.target, "pi as a target spec (JSON)")->check(flowsampler::cli::regular_file)->excludes(normal);
  normal->excludes(target);
  jko->add_option("--h", o.h, "step size h (the first one for --schedule geometric)")->capture_default_str()->check(flowsampler::cli::positive_number);
  jko->add_option("--steps", o.steps, "number of JKO steps K")->capture_default_str()->check(CLI::Range(1, 1000000));
  jko->add_option("--schedule", o.schedule, "constant or geometric (h ratio^k)")->capture_default_str()->check(CLI::IsMember({"constant", "geometric"}));
  jko->add_option("--ratio", o.ratio, "geometric schedule ratio")->capture_default_str()->check(flowsampler::cli::positive_number);
  jko->add_option("--step-list", o.steps_list, "explicit steps h_0,h_1,... (overrides --h/--schedule)")->delimiter(',');
  jko->add_option("--estimator", o.estimator, "score of rho: blob (closest to the exact JKO step of the estimators), kde-corrected (the KDE score with its Gaussian "
                  "smoothing bias removed), kde or ot")
      ->capture_default_str()
      ->check(CLI::IsMember({"blob", "kde-corrected", "kde", "ot"}));
  jko->add_option("--bandwidth", o.bandwidth, "kde/blob bandwidth (default: Silverman's rule per step)")->check(CLI::NonNegativeNumber);
  jko->add_option("--ot-eps", o.ot_eps, "ot: entropic eps (default 0.05 x median squared distance per step)")->check(CLI::NonNegativeNumber);
  jko->add_option("--tol", o.tol, "first-order residual tolerance (default: relative 1e-7 double / 1e-3 float)")->check(CLI::NonNegativeNumber);
  jko->add_option("--max-inner", o.max_inner, "inner iterations per step at most")->capture_default_str()->check(CLI::Range(1, 100000));
  jko->add_option("--anderson", o.anderson, "Anderson memory of the inner iteration (0: damped fixed point)")->capture_default_str()->check(CLI::Range(0, 32));
  jko->add_flag("--explicit", o.explicit_step, "forward Euler steps instead (for comparison)");
  jko->add_flag("--progress", o.progress, "progress bar on stderr (default: when stderr is a terminal)");
  jko->add_option("--w2-tol", o.w2_tol, "stop once the Bures W2 to pi is below this")->check(CLI::NonNegativeNumber);
  jko->add_option("--kl-tol", o.kl_tol, "stop once the KL estimate to pi is below this")->check(CLI::NonNegativeNumber);
  jko->add_option("--diagnostic-points", o.diagnostic_points, "particles used by the MMD, KL and Lipschitz diagnostics (0: off)")->capture_default_str()->check(flowsampler::cli::count(0, std::uint64_t(1) << 40));
  jko->add_option("--model", o.model, "write the JKO flow model (clouds X_0..X_K + manifest.json) to this directory");
  jko->add_option("--out", o.out, "final cloud X_K (.npy)")->required();
  jko->add_option("--report", o.report, "JSON report with the per-step records");
  jko->add_option("--seed", o.seed, "random seed (draws of pi for the diagnostics)")->capture_default_str()->check(flowsampler::cli::count());
  jko->add_option("--precision", o.precision, "float or double")->capture_default_str()->check(CLI::IsMember({"float", "double"}));
  flowsampler::cli::add_backend_option(jko, backend);
  CLI::App* sample = app.add_subcommand("jko-sample", "Generate from a JKO flow model: fresh pi draws run back through the stored steps");
  sample->add_option("--model", s.model, "model directory written by `jko --model`")->required();
  sample->add_option("--n", s.n, "number of samples")->capture_default_str()->check(flowsampler::cli::count(1, std::uint64_t(1) << 40));
  sample->add_option("--out", s.out, "samples (.npy, N x d)")->required();
  sample->add_option("--seed", s.seed, "random seed")->capture_default_str()->check(flowsampler::cli::count());
  sample->add_option("--precision", s.precision, "float or double")->capture_default_str()->check(CLI::IsMember({"float", "double"}));
  flowsampler::cli::add_backend_option(sample, backend);
  if (commands) *commands = JkoCommands{jko, sample};
  return jko;
}

namespace {

template <class Real>
int run_jko_typed(const JkoOptions& o, const std::string& backend_name) {
  const auto wall0 = std::chrono::steady_clock::now();
  FLOWSAMPLER_EXPECTS(o.to_normal != !o.target.empty(), "jko: give exactly one of --to-normal and --target");
  FLOWSAMPLER_EXPECTS(o.model.empty() || !o.explicit_step,
                      "--model: the reverse process inverts backward (implicit) steps only; drop --explicit");
  Outputs outputs;  // checked and staged before any work: --out may not lie inside --model
  outputs.input("--data", o.data);
  outputs.target("--target", o.target);
  const std::string model_dir = outputs.directory("--model", o.model);
  const std::string out = outputs.file("--out", o.out), report = outputs.file("--report", o.report);
  Context ctx = Context::create(parse_backend(backend_name, "--backend"), o.seed);
  const ParticleSet<Real> x0 = io::read_particles<Real>(ctx, o.data);
  const targets::GaussianMixture target = o.to_normal ? targets::GaussianMixture(1) : targets::load_target(o.target);
  JkoProblem p = jko_problem(o, x0.n(), x0.d(), o.to_normal ? nullptr : &target);
  const targets::GaussianMixture& pi = p.pi;
  const jko::ScoreOptions& so = p.score;
  jko::FlowOptions& fo = p.flow;
  const Progress progress(o.progress);
  fo.on_step = [&](const jko::StepRecord& r) {
    char status[64];
    std::snprintf(status, sizeof status, "solver eps %.2e  inner %d", r.solver_eps, r.inner);
    progress.draw(double(r.k + 1) / o.steps, r.k + 1, o.steps, status);
  };
  jko::FlowResult<Real> r;
  nlohmann::json inversion = nullptr;
  if (!o.model.empty()) {
    const auto model = jko::JkoModel<Real>::train(ctx, pi, so, x0, fo, &r);
    for (std::size_t k = 0; k < model.clouds().size(); ++k)
      expect_finite(model.clouds()[k].to_row_major().data(), model.clouds()[k].n(), model.clouds()[k].d(),
                    "jko: cloud X_" + std::to_string(k) + " of --model", kJkoBlowUp);
    model.save(model_dir, o.precision);
    const auto e = model.inversion_error(ctx);
    inversion = {{"rms", e.rms}, {"relative", e.relative}, {"max", e.max}, {"per_step", e.per_step}};
    r.x = model.clouds().back().copy(ctx);
  } else {
    r = run_jko_flow(ctx, p, x0, o.explicit_step);
  }
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
                              {"inversion_error", inversion}, {"wall_seconds", wall}, {"records", rec},
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
  // The draws, the reverse steps' gradients and the result, before allocating them.
  expect_fits_in_memory(checked_mul(checked_mul(o.n, model.dim(), "--n"), 8 * sizeof(Real), "--n"), "--n " + std::to_string(o.n));
  write_cloud(out, model.generate(ctx, o.n), "jko-sample: the samples for --out",
              "the reverse steps blew up: fresh draws far outside the model's clouds (a --model trained with a very "
              "small bandwidth or large h)");
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

}  // namespace flowsampler::cli
