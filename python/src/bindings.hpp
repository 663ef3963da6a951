#pragma once
// The parts of flowsampler._core, each registered by its own file.
#include <nanobind/nanobind.h>

#include "flowsampler/core/context.hpp"
#include "flowsampler/targets/gaussian_mixture.hpp"

namespace flowsampler::python {

namespace nb = nanobind;

/// A target given as a flowsampler.GaussianMixture, a JSON spec file's path
/// (str or os.PathLike) or a spec dict (DESIGN.md section 6); Error otherwise.
targets::GaussianMixture to_target(nb::handle target);

/// A context: `context` when given (a flowsampler.Context), else a new one on
/// `backend` ("auto", "cpu", "cuda", "emulator") with `seed`.
Context& context_or(nb::handle context, const std::string& backend, std::uint64_t seed, Context& storage);

void bind_context(nb::module_& m);
void bind_targets(nb::module_& m);
void bind_sample(nb::module_& m);
void bind_drift(nb::module_& m);
void bind_jko(nb::module_& m);
void bind_jko_model(nb::module_& m);
void bind_monge(nb::module_& m);
void bind_reproduce(nb::module_& m);
void bind_metrics(nb::module_& m);
void bind_pairwise(nb::module_& m);

}  // namespace flowsampler::python
