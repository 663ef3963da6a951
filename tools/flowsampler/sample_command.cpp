// `flowsampler sample`: integrate a target's exact flow from noise (or
// --init) and write the samples, a trajectory, log-likelihoods and a report.
#include "sample_command.hpp"

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

}  // namespace flowsampler::cli
