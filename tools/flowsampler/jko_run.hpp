#pragma once
// The computation of `flowsampler jko` shared with the Python package: the
// checks of the options, the target pi, the score and flow options, the run
// without a model, the training of a model and generation from it, and the
// JSON of a step record.
#include <cstddef>
#include <nlohmann/json.hpp>

#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"
#include "flowsampler/jko/flow.hpp"
#include "flowsampler/jko/model.hpp"
#include "flowsampler/targets/gaussian_mixture.hpp"
#include "jko_options.hpp"

namespace flowsampler::cli {

/// The likely causes of a non-finite JKO result, for the messages.
extern const char* const kJkoBlowUp;
/// The likely causes of non-finite samples of a model.
extern const char* const kJkoSampleBlowUp;

struct JkoProblem {
  targets::GaussianMixture pi{1};  ///< N(0, I) with --to-normal, else the target
  jko::ScoreOptions score;
  jko::FlowOptions flow;           ///< on_step left to the caller
};

/// pi, the score and flow options from `options` for a cloud of n points in
/// d dimensions; `target` is --target loaded (null with --to-normal). Error
/// naming the option on bad input (--explicit with --model included).
JkoProblem jko_problem(const JkoOptions& options, std::size_t n, std::size_t d, const targets::GaussianMixture* target);

/// The JKO scheme from x0 towards p.pi (no model kept); Error on a non-finite final cloud.
template <class Real>
jko::FlowResult<Real> run_jko_flow(const Context& ctx, const JkoProblem& p, const ParticleSet<Real>& x0,
                                   bool explicit_step);

/// The JKO scheme from x0 towards p.pi keeping the clouds X_0..X_K (`jko
/// --model`); `result` receives the records. Error on a non-finite cloud.
template <class Real>
jko::JkoModel<Real> train_jko_model(const Context& ctx, const JkoProblem& p, const ParticleSet<Real>& x0,
                                    jko::FlowResult<Real>* result);

/// n fresh draws of the model's pi run back to level 0 (`jko-sample`), in
/// ctx's random stream; Error when they do not fit in memory or are not finite.
template <class Real>
ParticleSet<Real> generate_jko_samples(Context& ctx, const jko::JkoModel<Real>& model, std::size_t n);

/// The inversion error as the report writes it: {rms, relative, max, per_step}.
nlohmann::json inversion_json(const jko::InversionError& e);

/// One step record as the report writes it (non-finite values as null).
nlohmann::json record_json(const jko::StepRecord& r);

extern template jko::FlowResult<float> run_jko_flow(const Context&, const JkoProblem&, const ParticleSet<float>&, bool);
extern template jko::FlowResult<double> run_jko_flow(const Context&, const JkoProblem&, const ParticleSet<double>&, bool);
extern template jko::JkoModel<float> train_jko_model(const Context&, const JkoProblem&, const ParticleSet<float>&,
                                                     jko::FlowResult<float>*);
extern template jko::JkoModel<double> train_jko_model(const Context&, const JkoProblem&, const ParticleSet<double>&,
                                                      jko::FlowResult<double>*);
extern template ParticleSet<float> generate_jko_samples(Context&, const jko::JkoModel<float>&, std::size_t);
extern template ParticleSet<double> generate_jko_samples(Context&, const jko::JkoModel<double>&, std::size_t);

}  // namespace flowsampler::cli
