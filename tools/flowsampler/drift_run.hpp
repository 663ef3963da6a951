#pragma once
// The computation of `flowsampler drift` without files: a cloud moved by a
// kernel drift field, with its records. The CLI writes what it returns and the
// Python package hands it to numpy, so both give the same particles.
#include <functional>
#include <string>
#include <vector>

#include "drift_command.hpp"
#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"
#include "flowsampler/integrate/evolve.hpp"
#include "flowsampler/targets/gaussian_mixture.hpp"

namespace flowsampler::cli {

template <class Real>
struct DriftInputs {
  ParticleSet<Real>* x = nullptr;                ///< the cloud to move (moved from)
  const ParticleSet<Real>* data = nullptr;       ///< --data, or null
  const targets::GaussianMixture* target = nullptr;  ///< --target, or null
  std::function<void(int done)> progress;        ///< after every step
  /// The ranks the cloud is split over (null or one rank: one process); each
  /// moves its shard of rows, and rank 0 gathers the cloud and the records.
  /// Only fields that act on each particle alone run sharded (mean-shift).
  const Communicator* comm = nullptr;
};

template <class Real>
struct DriftRun {
  /// The moved cloud, in the context's memory; with several ranks, it, the
  /// rows and the records are on rank 0 only.
  ParticleSet<Real> particles;
  std::vector<Real> rows;                            ///< the same, row-major on the host, checked finite
  std::vector<integrate::EvolveRecord> records;
  std::string kernel;                                ///< the kernel used (--kernel or the field's default)
  std::size_t data_points = 0;
};

/// `options` as the CLI parsed them (file paths only name inputs in messages).
/// Throws Error naming the option on bad input and on a non-finite result.
template <class Real>
DriftRun<Real> run_drift_flow(Context& ctx, const DriftOptions& options, const DriftInputs<Real>& inputs);

extern template DriftRun<float> run_drift_flow(Context&, const DriftOptions&, const DriftInputs<float>&);
extern template DriftRun<double> run_drift_flow(Context&, const DriftOptions&, const DriftInputs<double>&);

}  // namespace flowsampler::cli
