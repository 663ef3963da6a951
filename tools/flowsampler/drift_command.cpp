// `flowsampler drift --field F --x X0.npy [--data B.npy | --target T.json] ... --out X1.npy`.
#include "drift_command.hpp"

#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include <cstdio>

#include "checked_output.hpp"
#include "outputs.hpp"
#include "progress.hpp"
#include "flowsampler/core/sizes.hpp"
#include "flowsampler/fields/drifts.hpp"
#include "flowsampler/flowsampler.hpp"
#include "flowsampler/integrate/evolve.hpp"
#include "device_report.hpp"

namespace flowsampler::cli {

namespace {

template <class Real>
int run_typed(const DriftOptions& o, const std::string& backend_name) {
  const auto wall0 = std::chrono::steady_clock::now();
  Outputs outputs;  // checked and staged before any work
  outputs.input("--x", o.x);
  outputs.input("--data", o.data);
  outputs.target("--target", o.target);
  const std::string out = outputs.file("--out", o.out), report = outputs.file("--report", o.report);
  Context ctx = Context::create(parse_backend(backend_name, "--backend"), o.seed);
  const fields::Drift kind = fields::parse_drift(o.field, "--field");
  ParticleSet<Real> z = io::read_particles<Real>(ctx, o.x);
  FLOWSAMPLER_EXPECTS(z.n() >= 2, "--x: " << o.x << " needs at least 2 particles");
  FLOWSAMPLER_EXPECTS(o.data.empty() || o.target.empty(), "drift: give --data or --target, not both");
  std::unique_ptr<targets::GaussianMixture> target;
  if (!o.target.empty()) {
    target = std::make_unique<targets::GaussianMixture>(targets::load_target(o.target));
    FLOWSAMPLER_EXPECTS(target->dim() == z.d(), "--target: d = " << target->dim() << ", --x has d = " << z.d());
  }
  ParticleSet<Real> data;
  if (!o.data.empty()) {
    data = io::read_particles<Real>(ctx, o.data);
    FLOWSAMPLER_EXPECTS(data.d() == z.d(), "--data: d = " << data.d() << ", --x has d = " << z.d());
  } else if (target && kind != fields::Drift::svgd) {
    if (o.target_samples)
      expect_fits_in_memory(checked_mul(o.target_samples, z.d() * sizeof(Real), "--target-samples"),
                            "--target-samples " + std::to_string(o.target_samples));
    data = target->sample<Real>(ctx, o.target_samples ? o.target_samples : z.n());  // the target's draws as the data
  }
  FLOWSAMPLER_EXPECTS(kind != fields::Drift::svgd || target, "--field svgd: needs --target (its exact score)");
  fields::DriftOptions fo;
  const std::string kernel = !o.kernel.empty() ? o.kernel : (kind == fields::Drift::drifting ? "laplace" : "gaussian");
  fo.kernel = {pairwise::parse_kernel(kernel, "--kernel"), o.eps};
  fo.include_self = o.include_self;
  if (!o.temperatures.empty()) fo.temperatures = o.temperatures;
  fo.median_bandwidth = o.median_bandwidth;
  fo.ot_eps = o.ot_eps;
  fo.batch = o.batch;
  fo.batch_seed = o.seed;
  const fields::DriftField<Real> field(ctx, kind, fo, data.n() ? &data : nullptr, {}, target.get());
  integrate::EvolveOptions eo;
  eo.steps = o.steps;
  eo.dt = o.dt;
  eo.every = o.every;
  eo.method = integrate::parse_method(o.integrator, "--integrator");
  const Progress progress(o.progress);
  eo.on_step = [&](int done) { progress.draw(double(done) / o.steps, done, o.steps); };
  const auto records = integrate::evolve(ctx, field, z, eo, data.n() ? &data : nullptr);
  write_cloud(out, z, "drift (" + o.field + ", " + o.integrator + "): the particles for --out",
              "the step blew up: --dt too large for the field's stiffness, or --eps so small that the kernel "
              "underflows (try a smaller --dt or a larger --eps)");
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
                              {"dim", z.d()}, {"data_points", data.n()}, {"steps", o.steps}, {"dt", o.dt},
                              {"integrator", o.integrator}, {"wall_seconds", wall}, {"records", rec},
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
