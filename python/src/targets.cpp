// flowsampler.Context and flowsampler.GaussianMixture.
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <utility>

#include "arrays.hpp"
#include "bindings.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/core/version.hpp"
#include "flowsampler/targets/spec.hpp"

namespace flowsampler::python {

using nb::literals::operator""_a;

Context& context_or(nb::handle context, const std::string& backend, std::uint64_t seed, Context& storage) {
  if (!context.is_none()) {
    FLOWSAMPLER_EXPECTS(nb::isinstance<Context>(context), "context: expected a flowsampler.Context or None");
    return nb::cast<Context&>(context);
  }
  storage = Context::create(parse_backend(backend, "backend"), seed);
  return storage;
}

targets::GaussianMixture to_target(nb::handle target) {
  if (nb::isinstance<targets::GaussianMixture>(target)) return nb::cast<const targets::GaussianMixture&>(target);
  if (nb::isinstance<nb::dict>(target)) {
    // numpy arrays and scalars become lists and numbers for the JSON parser.
    nb::object tolist = nb::module_::import_("flowsampler._spec").attr("to_json");
    const std::string text = nb::cast<std::string>(tolist(target));
    return targets::parse_target(text, "target");
  }
  nb::object os = nb::module_::import_("os");
  FLOWSAMPLER_EXPECTS(nb::isinstance<nb::str>(target) || nb::hasattr(target, "__fspath__"),
                      "target: expected a JSON spec file's path, a spec dict or a flowsampler.GaussianMixture, got "
                          << nb::cast<std::string>(nb::str(target.type().attr("__name__"))));
  return targets::load_target(nb::cast<std::string>(os.attr("fspath")(target)));
}

namespace {

std::vector<double> to_doubles(nb::handle values) {
  nb::object np = nb::module_::import_("numpy");
  nb::object a = np.attr("asarray")(values, "dtype"_a = np.attr("float64")).attr("ravel")();
  return nb::cast<std::vector<double>>(a.attr("tolist")());
}

targets::GaussianMixture from_arrays(nb::handle weights, nb::handle means, nb::handle covariances) {
  nb::object np = nb::module_::import_("numpy");
  nb::object m = np.attr("asarray")(means, "dtype"_a = np.attr("float64"));
  FLOWSAMPLER_EXPECTS(nb::cast<int>(m.attr("ndim")) == 2, "means: expected shape (K, d), got "
                                                              << nb::cast<std::string>(nb::str(m.attr("shape"))));
  const std::size_t K = nb::cast<std::size_t>(m.attr("shape")[0]), d = nb::cast<std::size_t>(m.attr("shape")[1]);
  const std::vector<double> w = to_doubles(weights);
  FLOWSAMPLER_EXPECTS(w.size() == K, "weights: " << w.size() << " values for " << K << " means");
  FLOWSAMPLER_EXPECTS(nb::len(covariances) == K, "covariances: " << nb::len(covariances) << " entries for " << K << " means");
  targets::GaussianMixture g(d);
  std::size_t k = 0;
  for (nb::handle c : covariances) {
    std::vector<double> mean(d);
    for (std::size_t j = 0; j < d; ++j) mean[j] = nb::cast<double>(m[nb::make_tuple(k, j)]);
    g.add(w[k], mean, to_doubles(c));
    ++k;
  }
  return g;
}

template <class Real>
nb::object draw(const targets::GaussianMixture& g, Context& ctx, std::size_t n) {
  std::vector<Real> rows;
  {
    nb::gil_scoped_release unlocked;
    rows = g.sample<Real>(ctx, n).to_row_major();
  }
  return numpy_from(std::move(rows), {n, g.dim()});
}

}  // namespace

void bind_context(nb::module_& m) {
  m.def("built_with_cuda", &built_with_cuda, "True when the library was built with the CUDA backend");
  m.def("cuda_device_count", &cuda_device_count, "CUDA devices that answer (0 without a GPU or a CUDA build)");
  nb::class_<Context>(m, "Context",
                      "A backend (cpu, cuda, emulator) with its memory pool, stream and random stream.\n\n"
                      "backend='auto' picks CUDA when a device answers, else the CPU. Arrays passed to a CPU\n"
                      "context in the library's layout are read in place; a device context copies them up.")
      .def("__init__",
           [](Context* self, const std::string& backend, std::uint64_t seed, int threads) {
             new (self) Context(Context::create(parse_backend(backend, "backend"), seed, threads));
           },
           "backend"_a = "auto", "seed"_a = 0, "threads"_a = 0)
      .def_prop_ro("backend", [](const Context& c) { return to_string(c.backend()); })
      .def_prop_ro("seed", &Context::seed)
      .def_prop_rw("threads", &Context::threads, &Context::set_threads)
      .def("describe", &Context::describe)
      .def("__repr__", [](const Context& c) { return "flowsampler.Context(" + c.describe() + ")"; });
}

void bind_targets(nb::module_& m) {
  nb::class_<targets::GaussianMixture>(
      m, "GaussianMixture",
      "A mixture of K Gaussians N(m_k, S_k) in d dimensions (or Dirac atoms).\n\n"
      "GaussianMixture(weights, means, covariances): weights (K,), means (K, d), and per component a\n"
      "number (isotropic variance), d numbers (diagonal) or a d x d matrix. Also from_json(path) and\n"
      "from_dict(spec), the spec of DESIGN.md section 6. Weights are normalized.")
      .def("__init__",
           [](targets::GaussianMixture* self, nb::handle weights, nb::handle means, nb::handle covariances) {
             new (self) targets::GaussianMixture(from_arrays(weights, means, covariances));
           },
           "weights"_a, "means"_a, "covariances"_a)
      .def_static("from_json", [](nb::handle path) { return to_target(path); }, "path"_a, "From a JSON spec file.")
      .def_static("from_dict", [](const nb::dict& spec) { return to_target(spec); }, "spec"_a, "From a spec dict.")
      .def_static("empirical",
                  [](const AnyArray& points) {
                    const Context cpu = Context::create(Backend::cpu);
                    const ParticleSet<double> p = as_cloud<double>(cpu, points, "points");
                    return targets::GaussianMixture::empirical(p.to_row_major(), p.n(), p.d());
                  },
                  "points"_a, "Dirac atoms at the rows of an (N, d) array, equal weights.")
      .def_prop_ro("dim", &targets::GaussianMixture::dim)
      .def_prop_ro("size", &targets::GaussianMixture::size, "K, the number of components")
      .def_prop_ro("has_atoms", &targets::GaussianMixture::has_atoms)
      .def_prop_ro("weights", [](const targets::GaussianMixture& g) { return numpy_from(g.weights(), {g.size()}); },
                   "normalized weights (K,)")
      .def_prop_ro("means",
                   [](const targets::GaussianMixture& g) {
                     std::vector<double> v;
                     for (std::size_t k = 0; k < g.size(); ++k) v.insert(v.end(), g.mean(k).begin(), g.mean(k).end());
                     return numpy_from(std::move(v), {g.size(), g.dim()});
                   },
                   "(K, d)")
      .def_prop_ro("covariances",
                   [](const targets::GaussianMixture& g) {
                     std::vector<double> v;
                     for (std::size_t k = 0; k < g.size(); ++k) {
                       const std::vector<double> c = g.covariance(k);
                       v.insert(v.end(), c.begin(), c.end());
                     }
                     return numpy_from(std::move(v), {g.size(), g.dim(), g.dim()});
                   },
                   "(K, d, d) dense")
      .def("sample",
           [](const targets::GaussianMixture& g, std::size_t n, std::uint64_t seed, const std::string& backend,
              const std::string& precision) {
             FLOWSAMPLER_EXPECTS(precision == "float" || precision == "double",
                                 "precision: expected float or double, got '" << precision << "'");
             Context ctx = Context::create(parse_backend(backend, "backend"), seed);
             return precision == "double" ? draw<double>(g, ctx, n) : draw<float>(g, ctx, n);
           },
           "n"_a, nb::kw_only(), "seed"_a = 0, "backend"_a = "auto", "precision"_a = "float",
           "n independent draws, (n, d) C order.")
      .def("__repr__", [](const targets::GaussianMixture& g) {
        return "flowsampler.GaussianMixture(dim=" + std::to_string(g.dim()) + ", components=" + std::to_string(g.size()) +
               (g.has_atoms() ? ", atoms" : "") + ")";
      });
}

}  // namespace flowsampler::python
