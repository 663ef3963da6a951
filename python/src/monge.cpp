// flowsampler.monge and flowsampler.MongeMap: `flowsampler monge` in memory
// (tools/flowsampler/monge_run.hpp), the CLI's option names and defaults as
// keywords, and the trained map pushed, saved and loaded in the CLI's map
// directory format (flowsampler/monge/map_io.hpp).
#include <nanobind/stl/function.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "arrays.hpp"
#include "bindings.hpp"
#include "checked_output.hpp"
#include "dispatch.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/io/npy.hpp"
#include "flowsampler/monge/map_io.hpp"
#include "monge_run.hpp"

namespace flowsampler::python {

using nb::literals::operator""_a;

namespace {

nb::object json_loads(const std::string& text) { return nb::module_::import_("json").attr("loads")(text); }

std::string fspath(nb::handle path) { return nb::cast<std::string>(nb::module_::import_("os").attr("fspath")(path)); }

// A trained map: the potential phi (T = grad phi) and what the CLI writes beside it.
struct MongeMap {
  std::shared_ptr<const monge::ConvexPotential> potential;
  std::string info;               // the manifest's "info" (a JSON object text; "" when absent)
  nb::object report = nb::none();  // the --report document of the training, None for a loaded map
};

// The source or the target of `monge`: an (N, d) array is a cloud (the
// source resampled, the target's samples), a path ending in .npy too (as the
// CLI decides), anything else a spec (GaussianMixture, JSON path or dict).
struct Side {
  std::string name;  // the file's path, or the keyword: names it in messages and the manifest
  std::optional<targets::GaussianMixture> spec;
  AnyArray array;  // the caller's array, kept while the cloud may view its memory
  ParticleSet<double> cloud;
};

Side side(const Context& ctx, nb::handle h, const char* keyword) {
  Side s;
  s.name = keyword;
  if (nb::isinstance<nb::str>(h) || nb::hasattr(h, "__fspath__")) {
    const std::string path = fspath(h);
    s.name = path;
    if (path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0) {
      s.cloud = io::read_particles<double>(ctx, path);
      return s;
    }
  } else if (nb::try_cast(h, s.array)) {
    s.cloud = as_cloud<double>(ctx, s.array, keyword);
    return s;
  }
  s.spec = to_target(h);
  return s;
}

MongeMap train(const cli::MongeCliOptions& o, nb::handle source_arg, nb::handle target_arg, const std::string& backend,
               const std::optional<std::function<void(int)>>& progress) {
  cli::check_monge_options(o);  // before reading any file, as the CLI
  Context ctx = cli::monge_context(o, parse_backend(backend, "backend"));
  const Side source = side(ctx, source_arg, "source"), target = side(ctx, target_arg, "target");
  cli::MongeCliOptions named = o;
  named.source = source.name, named.target = target.name;
  cli::MongeInputs in;
  if (source.spec) in.source_spec = &*source.spec; else in.source_cloud = &source.cloud;
  if (target.spec) in.target_spec = &*target.spec; else in.target_samples = &target.cloud;
  if (progress)
    in.progress = [&](int done, int) {
      nb::gil_scoped_acquire locked;
      (*progress)(done);
    };
  cli::MongeRun r;
  {
    nb::gil_scoped_release unlocked;
    r = cli::run_monge_training(ctx, named, in);
  }
  return MongeMap{std::move(r.potential), std::move(r.info), json_loads(r.report.dump())};
}

MongeMap load(nb::handle dir_arg) {
  const std::string dir = fspath(dir_arg);
  MongeMap m;
  m.potential = monge::load_map(dir);  // checks the manifest and the parameters
  std::ifstream f(dir + "/manifest.json");
  const nlohmann::json manifest = nlohmann::json::parse(f, nullptr, false);
  if (manifest.is_object() && manifest.contains("info")) m.info = manifest["info"].dump();
  return m;
}

}  // namespace

void bind_monge(nb::module_& m) {
  nb::class_<MongeMap>(m, "MongeMap",
                       "A learned Monge map T = grad phi (phi a convex potential), as `flowsampler monge` writes it.\n\n"
                       "apply(x) pushes points; save(dir) / MongeMap.load(dir) use the CLI's map directory\n"
                       "(manifest.json, params.npy), so `flowsampler monge-apply --map DIR` reads a saved map.")
      .def(
          "apply",
          [](const MongeMap& self, const AnyArray& x, nb::handle context) {
            Context& ctx = context_of(context);
            const ParticleSet<double> cx = as_cloud<double>(ctx, x, "x");
            std::vector<double> y;
            {
              nb::gil_scoped_release unlocked;
              y = cli::apply_monge(ctx, *self.potential, cx, "this MongeMap").to_row_major();
              cli::expect_finite(y.data(), cx.n(), cx.d(), "monge-apply: T(x)", cli::kMongeApplyBlowUp);
            }
            return numpy_from(std::move(y), {cx.n(), cx.d()});
          },
          "x"_a, nb::kw_only(), "context"_a = nb::none(),
          "T(x) for an (N, d) array, computed in float64 (`flowsampler monge-apply`); a new (N, d) float64 array.")
      .def("__call__", [](nb::handle self, nb::handle x) { return self.attr("apply")(x); }, "x"_a, "T(x): apply(x).")
      .def(
          "save", [](const MongeMap& self, nb::handle dir) { monge::save_map(fspath(dir), *self.potential, self.info); },
          "dir"_a, "Writes the map directory (manifest.json, params.npy; created if missing) as `flowsampler monge --out`.")
      .def_static("load", &load, "dir"_a, "Reads a map directory written by `flowsampler monge --out` or save().")
      .def_prop_ro("dim", [](const MongeMap& self) { return self.potential->dim(); })
      .def_prop_ro("potential", [](const MongeMap& self) { return self.potential->spec().type; }, "'icnn' or 'lse'")
      .def_prop_ro("params",
                   [](const MongeMap& self) {
                     std::vector<double> p = self.potential->params();
                     const std::size_t n = p.size();
                     return numpy_from(std::move(p), {n});
                   },
                   "the potential's parameters theta (P,) (params.npy), a copy")
      .def_prop_ro("info", [](const MongeMap& self) { return self.info.empty() ? nb::object(nb::none()) : json_loads(self.info); },
                   "the training's options as the manifest stores them (None when absent)")
      .def_ro("report", &MongeMap::report,
              "the training's report (the CLI's --report: energy distances, records, ...); None for a loaded map")
      .def("__repr__", [](const MongeMap& self) {
        return "flowsampler.MongeMap(potential=" + self.potential->spec().type + ", dim=" +
               std::to_string(self.potential->dim()) + ", params=" + std::to_string(self.potential->num_params()) + ")";
      });

  const cli::MongeCliOptions defaults;  // the CLI's defaults
  m.def(
      "monge",
      [](nb::handle source, nb::handle target, const std::string& potential, const std::string& method,
         const std::string& functional, double tau, int steps, int inner, double lr, std::size_t batch,
         const std::vector<std::size_t>& widths, std::size_t pieces, double lse_s, const std::string& init, bool no_skip,
         bool identity_first_step, const std::string& estimator, double bandwidth, double ot_eps,
         bool allow_non_log_concave, std::size_t target_samples,
         std::size_t eval_points, std::uint64_t seed, const std::string& backend,
         const std::optional<std::function<void(int)>>& progress) {
        cli::MongeCliOptions o;
        o.potential = potential, o.method = method, o.functional = functional, o.tau = tau, o.steps = steps;
        o.inner = inner, o.lr = lr, o.batch = batch, o.widths = widths, o.pieces = pieces, o.lse_s = lse_s;
        o.init = init, o.no_skip = no_skip, o.identity_first_step = identity_first_step, o.estimator = estimator;
        o.bandwidth = bandwidth, o.ot_eps = ot_eps;
        o.allow_non_log_concave = allow_non_log_concave, o.target_samples = target_samples;
        o.eval_points = eval_points, o.seed = seed;
        return train(o, source, target, backend, progress);
      },
      "source"_a, "target"_a, nb::kw_only(), "potential"_a = defaults.potential, "method"_a = defaults.method,
      "functional"_a = defaults.functional, "tau"_a = defaults.tau, "steps"_a = defaults.steps,
      "inner"_a = defaults.inner, "lr"_a = defaults.lr, "batch"_a = defaults.batch, "widths"_a = defaults.widths,
      "pieces"_a = defaults.pieces, "lse_s"_a = defaults.lse_s, "init"_a = defaults.init, "no_skip"_a = defaults.no_skip,
      "identity_first_step"_a = defaults.identity_first_step, "estimator"_a = defaults.estimator,
      "bandwidth"_a = defaults.bandwidth, "ot_eps"_a = defaults.ot_eps,
      "allow_non_log_concave"_a = defaults.allow_non_log_concave, "target_samples"_a = defaults.target_samples,
      "eval_points"_a = defaults.eval_points, "seed"_a = defaults.seed, "backend"_a = "auto", "progress"_a = nb::none(),
      R"(Learns a Monge map T = grad phi from `source` towards `target`: `flowsampler monge` in memory.

source: a spec (GaussianMixture, JSON path or dict; sampled afresh) or an (N, d) array or .npy
path (resampled). target: a spec (kl needs one) or samples (mmd/sinkhorn). Keywords are the
CLI's options with its defaults (--lse-s is lse_s, --no-skip no_skip). Returns a MongeMap whose
report is the CLI's --report. progress(done) is called after every outer step. Raises
flowsampler.Error on bad input.)");
}

}  // namespace flowsampler::python
