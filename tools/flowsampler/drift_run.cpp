// The computation of `flowsampler drift` (drift_run.hpp).
#include "drift_run.hpp"

#include <utility>

#include "checked_output.hpp"
#include "flowsampler/core/sizes.hpp"
#include "flowsampler/fields/drifts.hpp"
#include "flowsampler/flowsampler.hpp"

namespace flowsampler::cli {

template <class Real>
DriftRun<Real> run_drift_flow(Context& ctx, const DriftOptions& o, const DriftInputs<Real>& in) {
  const fields::Drift kind = fields::parse_drift(o.field, "--field");
  FLOWSAMPLER_EXPECTS(in.x != nullptr, "drift: no --x");
  DriftRun<Real> run;
  ParticleSet<Real>& z = run.particles;
  z = in.x->belongs_to(ctx) ? std::move(*in.x) : in.x->copy(ctx);
  FLOWSAMPLER_EXPECTS(z.n() >= 2, "--x: " << o.x << " needs at least 2 particles");
  const Communicator one_process;
  const Communicator& comm = in.comm ? *in.comm : one_process;
  // The mean shift to fixed data moves each particle on its own; the other
  // fields couple every particle to the whole moving cloud.
  FLOWSAMPLER_EXPECTS(comm.size() == 1 || kind == fields::Drift::mean_shift,
                      "--field " << o.field << ": under mpirun only mean-shift runs sharded (its drift at a particle "
                                 << "depends on the data alone); run " << o.field << " as one process");
  FLOWSAMPLER_EXPECTS(!(in.data && in.target), "drift: give --data or --target, not both");
  const targets::GaussianMixture* target = in.target;
  if (target) FLOWSAMPLER_EXPECTS(target->dim() == z.d(), "--target: d = " << target->dim() << ", --x has d = " << z.d());
  ParticleSet<Real> drawn;
  const ParticleSet<Real>* data = in.data;
  if (data) {
    FLOWSAMPLER_EXPECTS(data->d() == z.d(), "--data: d = " << data->d() << ", --x has d = " << z.d());
  } else if (target && kind != fields::Drift::svgd) {
    if (o.target_samples)
      expect_fits_in_memory(checked_mul(o.target_samples, z.d() * sizeof(Real), "--target-samples"),
                            "--target-samples " + std::to_string(o.target_samples));
    drawn = target->sample<Real>(ctx, o.target_samples ? o.target_samples : z.n());  // the target's draws as the data
    data = &drawn;
  }
  FLOWSAMPLER_EXPECTS(kind != fields::Drift::svgd || target, "--field svgd: needs --target (its exact score)");
  fields::DriftOptions fo;
  run.kernel = !o.kernel.empty() ? o.kernel : (kind == fields::Drift::drifting ? "laplace" : "gaussian");
  fo.kernel = {pairwise::parse_kernel(run.kernel, "--kernel"), o.eps};
  fo.include_self = o.include_self;
  if (!o.temperatures.empty()) fo.temperatures = o.temperatures;
  fo.median_bandwidth = o.median_bandwidth;
  fo.ot_eps = o.ot_eps;
  fo.batch = o.batch;
  fo.batch_seed = o.seed;
  run.data_points = data && data->n() ? data->n() : 0;
  const ParticleSet<Real>* data_set = run.data_points ? data : nullptr;
  const fields::DriftField<Real> field(ctx, kind, fo, data_set, {}, target);
  integrate::EvolveOptions eo;
  eo.steps = o.steps;
  eo.dt = o.dt;
  eo.every = o.every;
  eo.method = integrate::parse_method(o.integrator, "--integrator");
  eo.on_step = in.progress;
  eo.comm = in.comm;
  if (comm.size() > 1) z = shard_rows(ctx, z, comm.shard(z.n()));
  run.records = integrate::evolve(ctx, field, z, eo, data_set);
  if (comm.size() > 1) {  // rank 0 gathers the shards in row order
    z = gather_rows(ctx, comm, z);
    if (!comm.is_root()) return run;
  }
  run.rows = z.to_row_major();
  expect_finite(run.rows.data(), z.n(), z.d(), "drift (" + o.field + ", " + o.integrator + "): the particles for --out",
                "the step blew up: --dt too large for the field's stiffness, or --eps so small that the kernel "
                "underflows (try a smaller --dt or a larger --eps)");
  return run;
}

template DriftRun<float> run_drift_flow(Context&, const DriftOptions&, const DriftInputs<float>&);
template DriftRun<double> run_drift_flow(Context&, const DriftOptions&, const DriftInputs<double>&);

}  // namespace flowsampler::cli
