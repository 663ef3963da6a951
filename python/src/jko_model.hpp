#pragma once
// flowsampler.JkoFlowModel: a JKO flow model (flowsampler/jko/model.hpp) in
// either precision, with the context its clouds live in.
#include <nanobind/nanobind.h>

#include <variant>

#include "flowsampler/core/context.hpp"
#include "flowsampler/jko/model.hpp"

namespace flowsampler::python {

namespace nb = nanobind;

struct JkoFlowModel {
  std::variant<jko::JkoModel<float>, jko::JkoModel<double>> model;
  Context ctx;                     // where the clouds live; generate() draws from ctx.derive(seed)
  nb::object records = nb::none();  // the training's per-step records (the CLI's report), None when loaded
};

}  // namespace flowsampler::python
