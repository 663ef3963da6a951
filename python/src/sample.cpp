// flowsampler.sample: `flowsampler sample` in memory (tools/flowsampler/sample_run.hpp),
// the CLI's option names and defaults as keywords.
#include <nanobind/stl/function.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <optional>
#include <utility>

#include "arrays.hpp"
#include "bindings.hpp"
#include "flowsampler/core/error.hpp"
#include "sample_run.hpp"

namespace flowsampler::python {

using nb::literals::operator""_a;

namespace {

/// What sample() returns when log-likelihoods or a trajectory are asked for.
struct SampleResult {
  nb::object x, log_likelihood, trajectory;
  int steps = 0, nfe = 0, rejected_steps = 0;
  double t0 = 0, t1 = 0;
  nb::object predicted_spread_error;  // euler, heun, midpoint, rk4: before the run; None otherwise
  std::string backend;
};

using Progress = std::function<void(double, int, int, double)>;

template <class Real>
nb::object run(const nb::handle target_arg, const cli::SampleOptions& o, const std::optional<AnyArray>& init,
               bool log_likelihood, const std::string& backend, const std::optional<Progress>& progress) {
  const targets::GaussianMixture target = to_target(target_arg);
  Context ctx = Context::create(parse_backend(backend, "backend"), o.seed);
  cli::SampleInputs<Real> in;
  in.target = &target;
  in.target_name = nb::isinstance<nb::str>(target_arg) ? nb::cast<std::string>(target_arg) : std::string("target");
  in.log_likelihood = log_likelihood;
  in.trajectory = o.snapshots > 0;
  ParticleSet<Real> start;
  if (init) {
    bool copied = false;
    start = as_cloud<Real>(ctx, *init, "init", &copied);
    if (!copied) start = start.copy(ctx);  // integrated in place: never in the caller's memory
    in.init = &start;
  }
  if (progress)
    in.progress = [&](double fraction, int step, int steps, double t) {
      nb::gil_scoped_acquire locked;
      (*progress)(fraction, step, steps, t);
    };
  cli::SampleRun<Real> r;
  {
    nb::gil_scoped_release unlocked;
    r = cli::run_sample_flow(ctx, o, in);
  }
  // As the CLI: a predicted spread error above 1% is a warning (RuntimeWarning).
  if (!r.spread_warning.empty() && PyErr_WarnEx(PyExc_RuntimeWarning, r.spread_warning.c_str(), 1) != 0)
    throw nb::python_error();
  const std::size_t n = r.particles.n(), d = r.particles.d();
  nb::object x = numpy_from(std::move(r.rows), {n, d});
  if (!log_likelihood && !in.trajectory) return x;
  SampleResult out;
  out.x = x;
  out.log_likelihood = log_likelihood ? numpy_from(std::move(r.log_likelihood), {n}) : nb::none();
  out.trajectory = in.trajectory ? numpy_from(std::move(r.trajectory), {std::size_t(o.snapshots), r.kept, d}) : nb::none();
  out.steps = r.report.steps;
  out.nfe = r.report.nfe;
  out.rejected_steps = r.report.rejected;
  out.t0 = r.t0;
  out.t1 = r.t1;
  out.predicted_spread_error = r.spread_checked ? nb::cast(r.spread.spread_error) : nb::none();
  out.backend = to_string(ctx.backend());
  return nb::cast(std::move(out));
}

}  // namespace

void bind_sample(nb::module_& m) {
  nb::class_<SampleResult>(m, "SampleResult", "sample()'s result when log_likelihood or snapshots is asked for")
      .def_ro("x", &SampleResult::x, "the particles, (n, d)")
      .def_ro("log_likelihood", &SampleResult::log_likelihood, "log p at t1 of each particle, (n,), or None")
      .def_ro("trajectory", &SampleResult::trajectory, "(snapshots, kept, d), or None")
      .def_ro("steps", &SampleResult::steps)
      .def_ro("nfe", &SampleResult::nfe, "velocity evaluations")
      .def_ro("rejected_steps", &SampleResult::rejected_steps)
      .def_ro("t0", &SampleResult::t0)
      .def_ro("t1", &SampleResult::t1)
      .def_ro("predicted_spread_error", &SampleResult::predicted_spread_error,
              "euler, heun, midpoint, rk4: the relative error of the components' spread the grid gives, "
              "predicted before the run (None for the others)")
      .def_ro("backend", &SampleResult::backend);
  const cli::SampleOptions defaults;  // the CLI's defaults
  m.def(
      "sample",
      [](nb::handle target, std::size_t n, const std::string& path, double horizon, const std::string& integrator,
         int steps, const std::string& schedule, const std::vector<double>& times, double early_stop, double eta,
         double rtol, double atol, int langevin_steps, double langevin_snr, const std::string& noise_cov,
         const std::optional<AnyArray>& init, std::uint64_t seed, const std::string& backend,
         const std::string& precision, bool log_likelihood, int snapshots, std::size_t trajectory_particles,
         const std::optional<Progress>& progress) {
        // The ranges the CLI's parser checks before the command runs.
        FLOWSAMPLER_EXPECTS(n >= 1, "n: expected at least 1 particle, got " << n);
        FLOWSAMPLER_EXPECTS(steps >= 1, "steps: expected at least 1, got " << steps);
        FLOWSAMPLER_EXPECTS(precision == "float" || precision == "double",
                            "precision: expected float or double, got '" << precision << "'");
        FLOWSAMPLER_EXPECTS(snapshots >= 0, "snapshots: expected >= 0 (0: no trajectory), got " << snapshots);
        FLOWSAMPLER_EXPECTS(rtol > 0 && atol > 0, "rtol, atol: expected > 0, got " << rtol << ", " << atol);
        FLOWSAMPLER_EXPECTS(langevin_steps >= 0 && langevin_steps <= 1000,
                            "langevin_steps: expected 0..1000, got " << langevin_steps);
        cli::SampleOptions o;
        o.n = n, o.path = path, o.horizon = horizon, o.integrator = integrator, o.steps = steps, o.schedule = schedule;
        o.times = times, o.early_stop = early_stop, o.eta = eta, o.rtol = rtol, o.atol = atol;
        o.langevin_steps = langevin_steps, o.langevin_snr = langevin_snr, o.noise_cov = noise_cov, o.seed = seed;
        o.precision = precision, o.snapshots = snapshots, o.trajectory_particles = trajectory_particles;
        return precision == "double" ? run<double>(target, o, init, log_likelihood, backend, progress)
                                     : run<float>(target, o, init, log_likelihood, backend, progress);
      },
      "target"_a, nb::kw_only(), "n"_a = defaults.n, "path"_a = defaults.path, "horizon"_a = defaults.horizon,
      "integrator"_a = defaults.integrator, "steps"_a = defaults.steps, "schedule"_a = defaults.schedule,
      "times"_a = defaults.times, "early_stop"_a = defaults.early_stop, "eta"_a = defaults.eta, "rtol"_a = defaults.rtol,
      "atol"_a = defaults.atol, "langevin_steps"_a = defaults.langevin_steps, "langevin_snr"_a = defaults.langevin_snr,
      "noise_cov"_a = defaults.noise_cov, "init"_a = nb::none(), "seed"_a = defaults.seed, "backend"_a = "auto",
      "precision"_a = defaults.precision, "log_likelihood"_a = false, "snapshots"_a = defaults.snapshots,
      "trajectory_particles"_a = defaults.trajectory_particles, "progress"_a = nb::none(),
      R"(Samples `target` by integrating its exact flow from noise: `flowsampler sample` in memory.

target: a JSON spec file's path, a spec dict or a GaussianMixture. Keywords are the CLI's options
(--early-stop is early_stop, --noise-cov is noise_cov as JSON text, --init an (N, d) array) with
the CLI's defaults; the same options and seed give the same particles, bit for bit.
Returns the (n, d) C-order array (float32, or float64 with precision='double'); with
log_likelihood=True or snapshots=J > 0, a SampleResult holding it, log p of each particle
and the J x kept x d trajectory. progress(fraction, step, steps, t) is called after each
step of dopri5 and sde, and at 16 evenly spread steps (and the snapshots) of the fixed-step
methods, whose cloud moves block by block in between. A predicted spread error above 1%
(euler, heun, midpoint, rk4) is a RuntimeWarning. Raises flowsampler.Error on bad input
(the CLI's message).)");
}

}  // namespace flowsampler::python
