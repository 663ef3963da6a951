// `flowsampler sample`: integrate a target's exact flow from noise (or
// --init) and write the samples, a trajectory, log-likelihoods and a report.
#include "sample_command.hpp"
#include "command.hpp"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "checked_output.hpp"
#include "device_report.hpp"
#include "flowsampler/flowsampler.hpp"
#include "outputs.hpp"
#include "progress.hpp"
#include "sample_quality.hpp"
#include "sample_run.hpp"

namespace flowsampler::cli {

namespace fs = flowsampler;

namespace {

template <class Real>
int run_typed(const SampleOptions& o, const std::string& backend_name) {
  const auto wall0 = std::chrono::steady_clock::now();
  // Under mpirun each rank integrates its shard; rank 0 writes every output.
  const fs::Communicator comm = fs::Communicator::world();
  // Every output is checked (and staged) before any work; see outputs.hpp.
  Outputs outputs;
  std::string out, report, trajectory, loglik;
  if (comm.is_root()) {
    outputs.target("--target", o.target);
    outputs.input("--init", o.init);
    out = outputs.file("--out", o.out), report = outputs.file("--report", o.report),
    trajectory = outputs.file("--trajectory", o.trajectory), loglik = outputs.file("--log-likelihood", o.loglik);
  }
  fs::Context ctx = fs::Context::create(fs::parse_backend(backend_name, "--backend"), o.seed);
  const fs::targets::GaussianMixture target = fs::targets::load_target(o.target);
  SampleInputs<Real> in;
  in.target = &target;
  in.target_name = o.target;
  in.log_likelihood = !o.loglik.empty();
  in.trajectory = !o.trajectory.empty();
  in.comm = &comm;
  fs::ParticleSet<Real> init;
  if (!o.init.empty()) {
    init = fs::io::read_particles<Real>(ctx, o.init);
    in.init = &init;
  }
  const Progress progress(o.progress && comm.is_root());
  if (comm.is_root()) in.progress = [&](double fraction, int step, int steps, double t) {
    char status[32];
    std::snprintf(status, sizeof status, "t = %.4f", t);
    progress.draw(fraction, step, steps, status);
  };
  const SampleRun<Real> run = run_sample_flow(ctx, o, in);
  if (!comm.is_root()) return 0;
  // The result may still pass the checks below; its spread is wrong all the same.
  if (!run.spread_warning.empty()) std::cerr << "flowsampler: warning: " << run.spread_warning << "\n";
  const fs::ParticleSet<Real>& z = run.particles;
  // run_sample_flow checked every array: finite, and a plausible spread.
  fs::io::write_npy(out, run.rows.data(), z.n(), z.d());
  if (in.log_likelihood) fs::io::write_npy(loglik, run.log_likelihood.data(), run.log_likelihood.size(), 1);
  if (in.trajectory)
    fs::io::write_npy_array(trajectory, run.trajectory.data(), {std::size_t(o.snapshots), run.kept, z.d()});
  const fs::integrate::Report& r = run.report;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  if (!o.report.empty()) {
    nlohmann::json j = {{"backend", fs::to_string(ctx.backend())},
                        {"precision", o.precision},
                        {"n", z.n()},
                        {"dim", z.d()},
                        {"path", o.path},
                        {"integrator", o.integrator},
                        {"schedule", o.schedule},
                        {"steps", r.steps},
                        {"nfe", r.nfe},
                        {"rejected_steps", r.rejected},
                        {"noise_cov", o.noise_cov.empty() ? "1" : o.noise_cov},
                        {"t0", run.t0},
                        {"t1", run.t1},
                        {"seed", o.seed},
                        {"ranks", comm.size()},
                        {"wall_seconds", wall},
                        {"particle_steps_per_second", double(z.n()) * r.steps / wall},
                        {"device", device_report(ctx)}};
    if (run.spread_checked) {
      const fs::integrate::SpreadCheck& c = run.spread;
      j["spread_check"] = {{"predicted_spread_error", std::isfinite(c.spread_error) ? nlohmann::json(c.spread_error) : nlohmann::json("inf")},
                           {"at_whitened_variance", c.variance},
                           {"worst_step_rate", c.worst_step_rate},
                           {"worst_t", c.worst_t},
                           {"unstable_steps", c.unstable_steps},
                           {"suggested_steps", run.suggested_steps}};
    }
    if (o.quality_subsample > 0) {
      j["quality"] = sample_quality(ctx, run.law, z, o.quality_subsample, o.quality_projections, o.seed);
      if (!j["quality"].value("consistent_with_exact_law", true))
        std::cerr << "flowsampler: warning: the samples depart from the exact law (sliced W2^2 "
                  << j["quality"]["sliced_w2_squared"].get<double>() << " against "
                  << j["quality"]["sliced_w2_squared_between_two_exact_samples"].get<double>()
                  << " between two exact samples; covariance off by "
                  << 100 * j["quality"].value("covariance_relative_error", 0.0)
                  << "%): the integration error dominates; use more --steps, --integrator dopri5 or --early-stop DELTA\n";
    }
    write_json(report, j);
  }
  outputs.publish();
  return 0;
}

}  // namespace

int run_sample(const SampleOptions& o, const std::string& backend) {
  return o.precision == "double" ? run_typed<double>(o, backend) : run_typed<float>(o, backend);
}

namespace {

class SampleCommand final : public Command {
 public:
  const char* name() const override { return "sample"; }
  const char* summary() const override {
    return "Sample a Gaussian-mixture target by integrating its exact flow";
  }
  bool runs_under_mpirun() const override { return true; }
  void add_options(CLI::App& sub) override {
    sub.add_option("--target", o_.target, "target spec (JSON, DESIGN.md section 6)")->required()->check(regular_file);
    sub.add_option("--path", o_.path, "linear, follmer, vp, cosine, ve, overshoot")->capture_default_str();
    sub.add_option("--horizon", o_.horizon, "T of the vp path")->capture_default_str();
    sub.add_option("--integrator", o_.integrator,
                       "euler, heun, midpoint, rk4, ddim, dpmpp2m, dopri5 (adaptive), or sde (Euler-Maruyama on "
                       "the reverse SDE)")
        ->capture_default_str();
    sub.add_option("--rtol", o_.rtol, "dopri5: relative tolerance")->capture_default_str()->check(positive_number);
    sub.add_option("--atol", o_.atol, "dopri5: absolute tolerance")->capture_default_str()->check(positive_number);
    sub.add_option("--langevin-steps", o_.langevin_steps, "sde: Langevin corrector steps after each step")
        ->capture_default_str()->check(CLI::Range(0, 1000));
    sub.add_option("--langevin-snr", o_.langevin_snr, "sde: the corrector's signal-to-noise ratio r, step 2 (r |xi| / |s|)^2")
        ->capture_default_str()->check(positive_number);
    sub.add_option("--noise-cov", o_.noise_cov,
                       "covariance of the noise Y as JSON: a number (sigma^2), a list of d variances or a d x d matrix "
                       "(default 1)");
    sub.add_option("--eta", o_.eta, "sde: g^2 = 2 eta |b b' - b^2 a'/a| (0: the ODE, 1: the classic reverse SDE)")
        ->capture_default_str();
    auto* steps_opt =
        sub.add_option("--steps", o_.steps, "steps of the time grid (dopri5: ignored, adaptive)")->capture_default_str()->check(CLI::Range(1, 100000000));
    sub.add_option("--schedule", o_.schedule, "time grid: uniform, logsnr or karras (rho = 7)")
        ->capture_default_str()->check(CLI::IsMember({"uniform", "logsnr", "karras"}));
    sub.add_option("--times", o_.times, "an explicit time grid, comma-separated and strictly monotone")
        ->delimiter(',')
        ->excludes(steps_opt);
    sub.add_option("--early-stop", o_.early_stop, "stop at t = 1 - DELTA (required for empirical targets)")->capture_default_str();
    auto* n_opt = sub.add_option("--n", o_.n, "number of particles")->capture_default_str()->check(count(1, std::uint64_t(1) << 40));
    sub.add_option("--init", o_.init, "initial particles (.npy, N x d) instead of --n draws of the path's exact law at its start, a(t0) X + b(t0) Y")->excludes(n_opt)->check(regular_file);
    add_seed_option(sub, o_.seed);
    add_precision_option(sub, o_.precision);
    sub.add_option("--out", o_.out, "output particles (.npy, N x d)")->required();
    sub.add_option("--log-likelihood", o_.loglik,
                       "write log p at the end time of each particle (.npy, N x 1), by integrating -div v exactly");
    auto* traj_opt = sub.add_option("--trajectory", o_.trajectory, "write J snapshots of the cloud (.npy, J x N x d)");
    sub.add_option("--snapshots", o_.snapshots, "J: snapshots at evenly spread grid times, first and last included")
        ->needs(traj_opt);
    sub.add_option("--trajectory-particles", o_.trajectory_particles,
                       "K: keep only the first K particles in --trajectory (J x K x d; default all)")
        ->needs(traj_opt)->check(count());
    add_progress_flag(sub, o_.progress);
    sub.add_option("--quality-subsample", o_.quality_subsample,
                       "report: particles compared with fresh target draws by MMD and sliced W2 (0: skip)")
        ->capture_default_str()->check(count());
    sub.add_option("--quality-projections", o_.quality_projections, "report: directions of the sliced W2")
        ->capture_default_str()->check(CLI::Range(1, 100000));
    sub.add_option("--report", o_.report, "JSON report: backend, precision, n, dim, path, integrator, steps, nfe, wall_seconds");
  }
  int run(const std::string& backend) override { return run_sample(o_, backend); }

 private:
  SampleOptions o_;
};

}  // namespace

std::unique_ptr<Command> make_sample_command() { return std::make_unique<SampleCommand>(); }

}  // namespace flowsampler::cli
