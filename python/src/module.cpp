// flowsampler._core: the extension module of the Python package.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include "bindings.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/core/version.hpp"

namespace nb = nanobind;

NB_MODULE(_core, m) {
  m.doc() = "flowsampler's C++ library (the flowsampler package wraps it)";
  // Bad input: a ValueError subclass carrying the library's message (the CLI's exit 2).
  nb::exception<flowsampler::Error>(m, "Error", PyExc_ValueError);
  m.attr("__version__") = flowsampler::version();
  flowsampler::python::bind_context(m);
  flowsampler::python::bind_targets(m);
  flowsampler::python::bind_sample(m);
  flowsampler::python::bind_drift(m);
  flowsampler::python::bind_jko_model(m);  // before jko, which returns one with model=True
  flowsampler::python::bind_jko(m);
  flowsampler::python::bind_monge(m);
  flowsampler::python::bind_reproduce(m);
  nb::module_ metrics = m.def_submodule("metrics", "Distances and moments of particle clouds");
  flowsampler::python::bind_metrics(metrics);
  nb::module_ pairwise = m.def_submodule("pairwise", "N x M pairwise reductions without the N x M matrix");
  flowsampler::python::bind_pairwise(pairwise);
}
