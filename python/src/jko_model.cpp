// flowsampler.JkoFlowModel: what `flowsampler jko --model DIR` keeps (the
// clouds X_0..X_K, the steps and score parameters), generating as
// `flowsampler jko-sample` does and saved/loaded in the CLI's model directory.
#include "jko_model.hpp"

#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <string>
#include <type_traits>
#include <utility>

#include "arrays.hpp"
#include "bindings.hpp"
#include "flowsampler/core/error.hpp"
#include "jko_run.hpp"

namespace flowsampler::python {

using nb::literals::operator""_a;

namespace {

std::string fspath(nb::handle path) { return nb::cast<std::string>(nb::module_::import_("os").attr("fspath")(path)); }

template <class Real>
nb::object rows(const ParticleSet<Real>& p) {
  return numpy_from(p.to_row_major(), {p.n(), p.d()});
}

// The precision of a JkoModel<Real>.
template <class M>
struct real_of;
template <class Real>
struct real_of<jko::JkoModel<Real>> {
  using type = Real;
};
template <class M>
using RealOf = typename real_of<std::decay_t<M>>::type;

// Calls f(model) with the model in its precision.
template <class F>
auto visit(const JkoFlowModel& self, F&& f) {
  return std::visit([&](const auto& model) { return f(model); }, self.model);
}

// y (points at level `from`) run back with the model's reverse steps: f(model, cloud) computes, the GIL released.
template <class F>
nb::object run_back(const JkoFlowModel& self, const AnyArray& y, F&& f) {
  return visit(self, [&](const auto& model) {
    using Real = RealOf<decltype(model)>;
    const ParticleSet<Real> cy = as_cloud<Real>(self.ctx, y, "y");
    FLOWSAMPLER_EXPECTS(cy.d() == model.dim(), "y: d = " << cy.d() << ", the model has d = " << model.dim());
    ParticleSet<Real> x;
    {
      nb::gil_scoped_release unlocked;
      x = f(model, cy);
    }
    return rows(x);
  });
}

template <class Real>
const char* precision_name() {
  return sizeof(Real) == 4 ? "float" : "double";
}

}  // namespace

void bind_jko_model(nb::module_& m) {
  nb::class_<JkoFlowModel>(
      m, "JkoFlowModel",
      "A JKO flow model: the clouds X_0..X_K of the JKO scheme from the data towards pi, the steps h_k\n"
      "and the score parameters (`flowsampler jko --model`). generate(n) runs fresh pi draws back\n"
      "through the stored steps (`flowsampler jko-sample`); save(dir) / JkoFlowModel.load(dir) use the\n"
      "CLI's model directory (manifest.json, X_000.npy ..).")
      .def_prop_ro("precision", [](const JkoFlowModel& s) {
        return visit(s, [](const auto& model) {
          using Real = RealOf<decltype(model)>;
          return std::string(precision_name<Real>());
        });
      })
      .def_prop_ro("dim", [](const JkoFlowModel& s) { return visit(s, [](const auto& model) { return model.dim(); }); })
      .def_prop_ro("steps", [](const JkoFlowModel& s) { return visit(s, [](const auto& model) { return model.step_sizes(); }); },
                   "the step sizes h_0..h_{K-1}")
      .def_prop_ro("target", [](const JkoFlowModel& s) { return visit(s, [](const auto& model) { return model.target(); }); },
                   "pi, a GaussianMixture")
      .def_prop_ro("clouds",
                   [](const JkoFlowModel& s) {
                     return visit(s, [](const auto& model) {
                       nb::list out;
                       for (const auto& c : model.clouds()) out.append(rows(c));
                       return out;
                     });
                   },
                   "the clouds X_0 (the data) .. X_K, (n, d) arrays (copies)")
      .def_ro("records", &JkoFlowModel::records, "the training's per-step records; None for a loaded model")
      .def(
          "reverse",
          [](const JkoFlowModel& s, const AnyArray& y) {
            return run_back(s, y, [&](const auto& model, const auto& cy) { return model.reverse(s.ctx, cy); });
          },
          "y"_a, "Points at level K run back to level 0 through every reverse step S_0 o .. o S_{K-1}.")
      .def(
          "reverse_step",
          [](const JkoFlowModel& s, std::size_t k, const AnyArray& y) {
            return run_back(s, y, [&](const auto& model, const auto& cy) {
              FLOWSAMPLER_EXPECTS(k < model.steps(), "k: expected 0.." << model.steps() - 1 << ", got " << k);
              return model.reverse_step(s.ctx, k, cy);
            });
          },
          "k"_a, "y"_a, "The reverse step S_k(y) = y + h_k grad_W F(rho_{k+1})(y): points at level k+1 to level k.")
      .def(
          "generate",
          [](const JkoFlowModel& s, std::size_t n, std::uint64_t seed) {
            FLOWSAMPLER_EXPECTS(n >= 1, "n: expected at least 1, got " << n);
            return visit(s, [&](const auto& model) {
              Context ctx = s.ctx.derive(seed);  // the random stream of `jko-sample --seed`
              using Real = RealOf<decltype(model)>;
              ParticleSet<Real> y;
              {
                nb::gil_scoped_release unlocked;
                y = cli::generate_jko_samples(ctx, model, n);
              }
              return rows(y);
            });
          },
          "n"_a, nb::kw_only(), "seed"_a = 0,
          "n fresh draws of pi run back to level 0 (`flowsampler jko-sample --n N --seed S`), (n, d).")
      .def(
          "inversion_error",
          [](const JkoFlowModel& s) {
            const std::string j = visit(s, [&](const auto& model) {
              nb::gil_scoped_release unlocked;
              return cli::inversion_json(model.inversion_error(s.ctx)).dump();
            });
            return nb::module_::import_("json").attr("loads")(j);
          },
          "X_K run back to X_0 on the training points: {rms, relative, max, per_step} (the report's inversion_error).")
      .def(
          "save",
          [](const JkoFlowModel& s, nb::handle dir) {
            visit(s, [&](const auto& model) {
              using Real = RealOf<decltype(model)>;
              model.save(fspath(dir), precision_name<Real>());
              return 0;
            });
          },
          "dir"_a, "Writes the model directory (created if missing) as `flowsampler jko --model DIR`.")
      .def_static(
          "load",
          [](nb::handle dir, const std::string& precision, const std::string& backend) {
            FLOWSAMPLER_EXPECTS(precision == "float" || precision == "double",
                                "precision: expected float or double, got '" << precision << "'");
            Context ctx = Context::create(parse_backend(backend, "backend"));
            const std::string path = fspath(dir);
            if (precision == "float") {
              auto model = jko::JkoModel<float>::load(ctx, path);
              return JkoFlowModel{std::move(model), std::move(ctx)};
            }
            auto model = jko::JkoModel<double>::load(ctx, path);
            return JkoFlowModel{std::move(model), std::move(ctx)};
          },
          "dir"_a, nb::kw_only(), "precision"_a = "double", "backend"_a = "auto",
          "Reads a model directory written by `flowsampler jko --model` or save(), in `precision`.")
      .def("__repr__", [](const JkoFlowModel& s) {
        return visit(s, [](const auto& model) {
          using Real = RealOf<decltype(model)>;
          return "flowsampler.JkoFlowModel(steps=" + std::to_string(model.steps()) + ", n=" +
                 std::to_string(model.clouds().front().n()) + ", dim=" + std::to_string(model.dim()) + ", precision=" +
                 precision_name<Real>() + ")";
        });
      });
}

}  // namespace flowsampler::python
