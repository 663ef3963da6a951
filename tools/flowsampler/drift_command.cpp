// `flowsampler drift --field F --x X0.npy [--data B.npy | --target T.json] ... --out X1.npy`.
#include "drift_command.hpp"
#include "command.hpp"

#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include <cstdio>

#include "checked_output.hpp"
#include "device_report.hpp"
#include "drift_run.hpp"
#include "flowsampler/flowsampler.hpp"
#include "outputs.hpp"
#include "progress.hpp"

namespace flowsampler::cli {

namespace {

template <class Real>
int run_typed(const DriftOptions& o, const std::string& backend_name) {
  const auto wall0 = std::chrono::steady_clock::now();
  // Under mpirun each rank moves its shard; rank 0 writes every output.
  const Communicator comm = Communicator::world();
  Outputs outputs;  // checked and staged before any work
  std::string out, report;
  if (comm.is_root()) {
    outputs.input("--x", o.x);
    outputs.input("--data", o.data);
    outputs.target("--target", o.target);
    out = outputs.file("--out", o.out), report = outputs.file("--report", o.report);
  }
  Context ctx = Context::create(parse_backend(backend_name, "--backend"), o.seed);
  ParticleSet<Real> x = io::read_particles<Real>(ctx, o.x), data;
  std::unique_ptr<targets::GaussianMixture> target;
  if (!o.target.empty()) target = std::make_unique<targets::GaussianMixture>(targets::load_target(o.target));
  if (!o.data.empty()) data = io::read_particles<Real>(ctx, o.data);
  DriftInputs<Real> in;
  in.x = &x;
  in.data = o.data.empty() ? nullptr : &data;
  in.target = target.get();
  in.comm = &comm;
  const Progress progress(o.progress && comm.is_root());
  if (comm.is_root()) in.progress = [&](int done) { progress.draw(double(done) / o.steps, done, o.steps); };
  const DriftRun<Real> run = run_drift_flow(ctx, o, in);
  if (!comm.is_root()) return 0;
  const ParticleSet<Real>& z = run.particles;
  const auto& records = run.records;
  const std::string& kernel = run.kernel;
  io::write_npy(out, run.rows.data(), z.n(), z.d());  // checked finite by run_drift_flow
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  if (!o.report.empty()) {
    nlohmann::json rec = nlohmann::json::array();
    for (const auto& r : records) {
      nlohmann::json j = {{"step", r.step}, {"t", r.t}, {"mean", r.mean}, {"covariance_trace", r.covariance_trace}};
      if (r.energy_distance >= 0) j["energy_distance_to_data"] = r.energy_distance;
      rec.push_back(j);
    }
    const nlohmann::json j = {{"field", o.field}, {"kernel", kernel}, {"bandwidth", o.eps},
                              {"median_bandwidth", o.median_bandwidth}, {"ot_eps", o.ot_eps}, {"batch", o.batch}, {"include_self", o.include_self},
                              {"backend", to_string(ctx.backend())}, {"precision", o.precision}, {"n", z.n()},
                              {"dim", z.d()}, {"data_points", run.data_points}, {"steps", o.steps}, {"dt", o.dt},
                              {"integrator", o.integrator}, {"ranks", comm.size()}, {"wall_seconds", wall}, {"records", rec},
                              {"device", device_report(ctx)}};
    write_json(report, j);
  }
  outputs.publish();
  return 0;
}

}  // namespace

int run_drift(const DriftOptions& o, const std::string& backend) {
  return o.precision == "double" ? run_typed<double>(o, backend) : run_typed<float>(o, backend);
}

namespace {

class DriftCommand final : public Command {
 public:
  const char* name() const override { return "drift"; }
  const char* summary() const override {
    return "Move a cloud with a kernel drift field (mean shift, drifting, MMD, KDE score, SVGD)";
  }
  bool runs_under_mpirun() const override { return true; }
  void add_options(CLI::App& sub) override {
    sub.add_option("--field", o_.field,
                      "mean-shift, drifting, drifting-normalized, mmd, kde-score, blob, svgd, sinkhorn or ot-score")->required();
    sub.add_option("--x", o_.x, "initial particles (.npy, N x d)")->required()->check(regular_file);
    auto* data_opt = sub.add_option("--data", o_.data, "the data cloud beta (.npy, M x d)")->check(regular_file);
    sub.add_option("--target", o_.target, "target spec: svgd's score, or fresh draws as the data")
        ->check(regular_file)->excludes(data_opt);
    sub.add_option("--target-samples", o_.target_samples, "draws of --target used as data (default N)")
        ->check(count(0, std::uint64_t(1) << 40));
    sub.add_option("--kernel", o_.kernel, "gaussian, laplace, imq or energy (default laplace for drifting, else gaussian)");
    sub.add_option("--eps", o_.eps, "kernel bandwidth h")->capture_default_str()->check(positive_number);
    sub.add_option("--ot-eps", o_.ot_eps, "sinkhorn, ot-score: entropic eps (default 0.05 x median squared distance)")
        ->check(CLI::NonNegativeNumber);
    sub.add_option("--batch", o_.batch, "random batch: use this many data points per step (default all)")->check(count());
    sub.add_flag("--median-bandwidth", o_.median_bandwidth, "svgd: median-heuristic bandwidth, per step");
    add_progress_flag(sub, o_.progress);
    sub.add_flag("--include-self", o_.include_self, "drifting(-normalized): keep j = i in the self term");
    sub.add_option("--temperatures", o_.temperatures, "drifting-normalized: temperatures, summed (default 0.02 0.05 0.2)")
        ->expected(1, 16);
    sub.add_option("--steps", o_.steps, "steps")->capture_default_str()->check(CLI::Range(1, 100000000));
    sub.add_option("--dt", o_.dt, "step size")->capture_default_str()->check(positive_number);
    sub.add_option("--integrator", o_.integrator, "euler, heun, midpoint or rk4")->capture_default_str();
    sub.add_option("--every", o_.every, "record the cloud's moments and energy distance to the data every J steps")
        ->capture_default_str()->check(CLI::Range(1, 100000000));
    sub.add_option("--out", o_.out, "final particles (.npy)")->required();
    sub.add_option("--report", o_.report, "JSON report with the records");
    add_seed_option(sub, o_.seed);
    add_precision_option(sub, o_.precision);
  }
  int run(const std::string& backend) override { return run_drift(o_, backend); }

 private:
  DriftOptions o_;
};

}  // namespace

std::unique_ptr<Command> make_drift_command() { return std::make_unique<DriftCommand>(); }

}  // namespace flowsampler::cli
