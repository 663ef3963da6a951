#pragma once
// The computation of `flowsampler jko` shared with the Python package: the
// checks of the options, the target pi, the score and flow options, the run
// without a model, and the JSON of a step record.
#include <cstddef>
#include <nlohmann/json.hpp>

#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"
#include "flowsampler/jko/flow.hpp"
#include "flowsampler/targets/gaussian_mixture.hpp"
#include "jko_options.hpp"

namespace flowsampler::cli {

/// The likely causes of a non-finite JKO result, for the messages.
extern const char* const kJkoBlowUp;

struct JkoProblem {
  targets::GaussianMixture pi{1};  ///< N(0, I) with --to-normal, else the target
  jko::ScoreOptions score;
  jko::FlowOptions flow;           ///< on_step left to the caller
};

/// pi, the score and flow options from `options` for a cloud of n points in
/// d dimensions; `target` is --target loaded (null with --to-normal). Error
/// naming the option on bad input.
JkoProblem jko_problem(const JkoOptions& options, std::size_t n, std::size_t d, const targets::GaussianMixture* target);

/// The JKO scheme from x0 towards p.pi (no model kept); Error on a non-finite final cloud.
template <class Real>
jko::FlowResult<Real> run_jko_flow(const Context& ctx, const JkoProblem& p, const ParticleSet<Real>& x0,
                                   bool explicit_step);

/// One step record as the report writes it (non-finite values as null).
nlohmann::json record_json(const jko::StepRecord& r);

extern template jko::FlowResult<float> run_jko_flow(const Context&, const JkoProblem&, const ParticleSet<float>&, bool);
extern template jko::FlowResult<double> run_jko_flow(const Context&, const JkoProblem&, const ParticleSet<double>&, bool);

}  // namespace flowsampler::cli
