// flowsampler.drift: `flowsampler drift` in memory (tools/flowsampler/drift_run.hpp),
// the CLI's option names and defaults as keywords.
#include <nanobind/stl/function.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cmath>
#include <optional>
#include <utility>

#include "arrays.hpp"
#include "bindings.hpp"
#include "drift_run.hpp"
#include "flowsampler/core/error.hpp"

namespace flowsampler::python {

using nb::literals::operator""_a;

namespace {

template <class Real>
nb::object run(const AnyArray& x, const std::optional<AnyArray>& data, nb::handle target_arg, const cli::DriftOptions& o,
               const std::string& backend, bool records, const std::optional<std::function<void(int)>>& progress) {
  Context ctx = Context::create(parse_backend(backend, "backend"), o.seed);
  bool copied = false;
  ParticleSet<Real> z = as_cloud<Real>(ctx, x, "x", &copied);
  if (!copied) z = z.copy(ctx);  // moved in place: never in the caller's memory
  ParticleSet<Real> beta;
  if (data) beta = as_cloud<Real>(ctx, *data, "data");  // read only: a view when the layout allows
  std::optional<targets::GaussianMixture> target;
  if (!target_arg.is_none()) target = to_target(target_arg);
  cli::DriftInputs<Real> in;
  in.x = &z;
  in.data = data ? &beta : nullptr;
  in.target = target ? &*target : nullptr;
  if (progress)
    in.progress = [&](int done) {
      nb::gil_scoped_acquire locked;
      (*progress)(done);
    };
  cli::DriftRun<Real> r;
  {
    nb::gil_scoped_release unlocked;
    r = cli::run_drift_flow(ctx, o, in);
  }
  const std::size_t n = r.particles.n(), d = r.particles.d();
  nb::object out = numpy_from(std::move(r.rows), {n, d});
  if (!records) return out;
  nb::list recs;
  for (const auto& e : r.records) {
    nb::dict j;
    j["step"] = e.step;
    j["t"] = e.t;
    j["mean"] = e.mean;
    j["covariance_trace"] = e.covariance_trace;
    if (e.energy_distance >= 0) j["energy_distance_to_data"] = e.energy_distance;
    recs.append(j);
  }
  return nb::make_tuple(out, recs);
}

}  // namespace

void bind_drift(nb::module_& m) {
  const cli::DriftOptions defaults;  // the CLI's defaults
  m.def(
      "drift",
      [](const AnyArray& x, const std::string& field, const std::optional<AnyArray>& data, nb::handle target,
         std::size_t target_samples, const std::string& kernel, double eps, double ot_eps, std::size_t batch,
         bool median_bandwidth, bool include_self, const std::vector<double>& temperatures, int steps, double dt,
         const std::string& integrator, int every, std::uint64_t seed, const std::string& precision,
         const std::string& backend, bool records, const std::optional<std::function<void(int)>>& progress) {
        // The ranges the CLI's parser checks before the command runs.
        FLOWSAMPLER_EXPECTS(std::isfinite(eps) && eps > 0, "eps: expected > 0, got " << eps);
        FLOWSAMPLER_EXPECTS(ot_eps >= 0, "ot_eps: expected >= 0, got " << ot_eps);
        FLOWSAMPLER_EXPECTS(steps >= 1, "steps: expected at least 1, got " << steps);
        FLOWSAMPLER_EXPECTS(std::isfinite(dt) && dt > 0, "dt: expected > 0, got " << dt);
        FLOWSAMPLER_EXPECTS(every >= 1, "every: expected at least 1, got " << every);
        FLOWSAMPLER_EXPECTS(temperatures.size() <= 16, "temperatures: at most 16, got " << temperatures.size());
        FLOWSAMPLER_EXPECTS(precision == "float" || precision == "double",
                            "precision: expected float or double, got '" << precision << "'");
        cli::DriftOptions o;
        o.field = field, o.target_samples = target_samples, o.kernel = kernel, o.eps = eps, o.ot_eps = ot_eps;
        o.batch = batch, o.median_bandwidth = median_bandwidth, o.include_self = include_self;
        o.temperatures = temperatures, o.steps = steps, o.dt = dt, o.integrator = integrator, o.every = every;
        o.seed = seed, o.precision = precision, o.x = "x", o.data = data ? "data" : "", o.target = "target";
        return precision == "double" ? run<double>(x, data, target, o, backend, records, progress)
                                     : run<float>(x, data, target, o, backend, records, progress);
      },
      "x"_a, nb::kw_only(), "field"_a, "data"_a = nb::none(), "target"_a = nb::none(),
      "target_samples"_a = defaults.target_samples, "kernel"_a = defaults.kernel, "eps"_a = defaults.eps,
      "ot_eps"_a = defaults.ot_eps, "batch"_a = defaults.batch, "median_bandwidth"_a = defaults.median_bandwidth,
      "include_self"_a = defaults.include_self, "temperatures"_a = defaults.temperatures, "steps"_a = defaults.steps,
      "dt"_a = defaults.dt, "integrator"_a = defaults.integrator, "every"_a = defaults.every, "seed"_a = defaults.seed,
      "precision"_a = defaults.precision, "backend"_a = "auto", "records"_a = false, "progress"_a = nb::none(),
      R"(Moves the cloud x with a kernel drift field: `flowsampler drift` in memory.

field: mean-shift, drifting, drifting-normalized, mmd, kde-score, blob, svgd, sinkhorn or ot-score;
data: the data cloud (M, d); target: svgd's target (or fresh draws as the data), a path, dict or
GaussianMixture. Keywords are the CLI's options with its defaults (kernel '' = laplace for
drifting, else gaussian). Returns the moved (N, d) C-order array; with records=True, (x, records)
with the cloud's mean, covariance trace and energy distance to the data every `every` steps.
progress(done) is called after every step. Raises flowsampler.Error on bad input.)");
}

}  // namespace flowsampler::python
