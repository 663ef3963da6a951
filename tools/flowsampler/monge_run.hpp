#pragma once
// The computation of `flowsampler monge` without files: a Monge map trained
// from a source towards a target, with its manifest info and report. The CLI
// writes what it returns and the Python package keeps it, so both give the
// same map for the same options.
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"
#include "flowsampler/monge/potential.hpp"
#include "flowsampler/targets/gaussian_mixture.hpp"
#include "monge_options.hpp"

namespace flowsampler::cli {

/// The names and ranges of the options, checked before any file is read so
/// that a typo fails fast. Error naming the option.
void check_monge_options(const MongeCliOptions& options);

/// The context of a training run: a batch of a few hundred points costs less
/// than waking a thread team, so small batches run on one CPU thread.
Context monge_context(const MongeCliOptions& options, Backend backend);

/// The source and the target, loaded (file paths in `options` only name them in messages).
struct MongeInputs {
  const targets::GaussianMixture* source_spec = nullptr;  ///< sampled afresh, or
  const ParticleSet<double>* source_cloud = nullptr;      ///< resampled with replacement
  const targets::GaussianMixture* target_spec = nullptr;  ///< kl's density, or draws for mmd/sinkhorn, or
  const ParticleSet<double>* target_samples = nullptr;    ///< samples (mmd/sinkhorn only)
  std::function<void(int done, int total)> progress;      ///< after every outer step
};

struct MongeRun {
  std::unique_ptr<monge::ConvexPotential> potential;  ///< the trained map T = grad phi, checked finite
  std::string info;                                   ///< the map manifest's "info" (a JSON object text)
  nlohmann::json report;                              ///< the --report document (wall_seconds: the training run's)
};

/// Trains the map as `flowsampler monge` does. Error naming the option on bad
/// input and on a diverged (non-finite) map.
MongeRun run_monge_training(Context& ctx, const MongeCliOptions& options, const MongeInputs& inputs);

/// What a non-finite T(x) likely means, for the messages.
extern const char* const kMongeApplyBlowUp;

/// T(x) as `flowsampler monge-apply` computes it; Error when x's d differs
/// from the map's (`map` names the map in the message).
ParticleSet<double> apply_monge(const Context& ctx, const monge::ConvexPotential& potential, const ParticleSet<double>& x,
                                const std::string& map);

}  // namespace flowsampler::cli
