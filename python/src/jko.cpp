// flowsampler.jko: `flowsampler jko` in memory (tools/flowsampler/jko_run.hpp),
// the CLI's option names and defaults as keywords; with model=True it keeps
// the JKO flow model (`--model`) as a flowsampler.JkoFlowModel.
#include <nanobind/stl/function.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <optional>
#include <utility>

#include "arrays.hpp"
#include "bindings.hpp"
#include "flowsampler/core/error.hpp"
#include "jko_model.hpp"
#include "jko_run.hpp"

namespace flowsampler::python {

using nb::literals::operator""_a;

namespace {

template <class Real>
nb::object run(const AnyArray& data, nb::handle target_arg, const cli::JkoOptions& o, const std::string& backend,
               bool records, const std::optional<std::function<void(int)>>& progress) {
  Context ctx = Context::create(parse_backend(backend, "backend"), o.seed);
  const ParticleSet<Real> x0 = as_cloud<Real>(ctx, data, "data");  // read only: a view when the layout allows
  std::optional<targets::GaussianMixture> target;
  if (!target_arg.is_none()) target = to_target(target_arg);
  cli::JkoProblem p = cli::jko_problem(o, x0.n(), x0.d(), target ? &*target : nullptr);
  if (progress)
    p.flow.on_step = [&](const jko::StepRecord& r) {
      nb::gil_scoped_acquire locked;
      (*progress)(r.k + 1);
    };
  jko::FlowResult<Real> r;
  std::optional<jko::JkoModel<Real>> model;
  {
    nb::gil_scoped_release unlocked;
    if (o.model.empty())
      r = cli::run_jko_flow(ctx, p, x0, o.explicit_step);
    else
      model.emplace(cli::train_jko_model(ctx, p, x0, &r));  // the clouds are copies: x0 may be the caller's memory
  }
  nlohmann::json rec = nlohmann::json::array();
  for (const auto& s : r.records) rec.push_back(cli::record_json(s));
  nb::object recs = nb::module_::import_("json").attr("loads")(rec.dump());
  nb::object out = model ? nb::cast(JkoFlowModel{std::move(*model), std::move(ctx), recs})
                         : numpy_from(r.x.to_row_major(), {r.x.n(), r.x.d()});
  if (!records) return out;
  return nb::make_tuple(out, recs);
}

}  // namespace

void bind_jko(nb::module_& m) {
  const cli::JkoOptions defaults;  // the CLI's defaults
  m.def(
      "jko",
      [](const AnyArray& data, nb::handle target, double h, int steps, const std::string& schedule, double ratio,
         const std::vector<double>& step_list, const std::string& estimator, double bandwidth, double ot_eps,
         double tol, int max_inner, int anderson, bool explicit_step, double w2_tol, double kl_tol,
         std::size_t diagnostic_points, std::uint64_t seed, const std::string& precision, const std::string& backend,
         bool model, bool records, const std::optional<std::function<void(int)>>& progress) {
        // The ranges the CLI's parser checks before the command runs.
        FLOWSAMPLER_EXPECTS(h > 0, "h: expected > 0, got " << h);
        FLOWSAMPLER_EXPECTS(steps >= 1 && steps <= 1000000, "steps: expected 1..1000000, got " << steps);
        FLOWSAMPLER_EXPECTS(schedule == "constant" || schedule == "geometric",
                            "schedule: expected constant or geometric, got '" << schedule << "'");
        FLOWSAMPLER_EXPECTS(ratio > 0, "ratio: expected > 0, got " << ratio);
        FLOWSAMPLER_EXPECTS(bandwidth >= 0 && ot_eps >= 0 && tol >= 0 && w2_tol >= 0 && kl_tol >= 0,
                            "bandwidth, ot_eps, tol, w2_tol, kl_tol: expected >= 0");
        FLOWSAMPLER_EXPECTS(max_inner >= 1 && max_inner <= 100000, "max_inner: expected 1..100000, got " << max_inner);
        FLOWSAMPLER_EXPECTS(anderson >= 0 && anderson <= 32, "anderson: expected 0..32, got " << anderson);
        FLOWSAMPLER_EXPECTS(precision == "float" || precision == "double",
                            "precision: expected float or double, got '" << precision << "'");
        cli::JkoOptions o;
        o.data = "data", o.h = h, o.steps = steps, o.schedule = schedule, o.ratio = ratio, o.steps_list = step_list;
        o.estimator = estimator, o.bandwidth = bandwidth, o.ot_eps = ot_eps, o.tol = tol, o.max_inner = max_inner;
        o.anderson = anderson, o.explicit_step = explicit_step, o.w2_tol = w2_tol, o.kl_tol = kl_tol;
        o.diagnostic_points = diagnostic_points, o.seed = seed, o.precision = precision;
        o.model = model ? "model" : "";
        return precision == "float" ? run<float>(data, target, o, backend, records, progress)
                                    : run<double>(data, target, o, backend, records, progress);
      },
      "data"_a, nb::kw_only(), "target"_a = nb::none(), "h"_a = defaults.h, "steps"_a = defaults.steps,
      "schedule"_a = defaults.schedule, "ratio"_a = defaults.ratio, "step_list"_a = defaults.steps_list,
      "estimator"_a = defaults.estimator, "bandwidth"_a = defaults.bandwidth, "ot_eps"_a = defaults.ot_eps,
      "tol"_a = defaults.tol, "max_inner"_a = defaults.max_inner, "anderson"_a = defaults.anderson,
      "explicit"_a = defaults.explicit_step, "w2_tol"_a = defaults.w2_tol, "kl_tol"_a = defaults.kl_tol,
      "diagnostic_points"_a = defaults.diagnostic_points, "seed"_a = defaults.seed, "precision"_a = defaults.precision,
      "backend"_a = "auto", "model"_a = false, "records"_a = false, "progress"_a = nb::none(),
      R"(JKO (Wasserstein proximal) steps of KL(. || pi) from the cloud `data`: `flowsampler jko` in memory.

target: pi as a path, dict or GaussianMixture; None is N(0, I) (the CLI's --to-normal). Keywords
are the CLI's options with its defaults (--step-list is step_list, --explicit is explicit). Returns
the final (N, d) C-order cloud, or with model=True (the CLI's --model) a JkoFlowModel keeping every
cloud (its clouds[-1] is the final one); with records=True, (x or model, records), the report's
per-step records.
progress(k) is called after step k. Raises flowsampler.Error on bad input.)");
}

}  // namespace flowsampler::python
