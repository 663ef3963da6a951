// `flowsampler drift --field F --x X0.npy [--data B.npy | --target T.json] ... --out X1.npy`.
#include "drift_command.hpp"

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

}  // namespace flowsampler::cli
