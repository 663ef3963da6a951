#pragma once
// The computation of `flowsampler sample` without files: validate the options,
// draw the initial cloud, integrate the target's exact flow (fixed-step,
// adaptive or SDE) with optional snapshots and log-likelihoods, and check the
// result. The CLI writes what it returns and the Python package (python/)
// hands it to numpy, so both give the same particles for the same options.
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"
#include "flowsampler/integrate/integrate.hpp"
#include "flowsampler/integrate/stability.hpp"
#include "flowsampler/paths/path.hpp"
#include "flowsampler/targets/gaussian_mixture.hpp"
#include "sample_command.hpp"

namespace flowsampler::cli {

/// What run_sample_flow computes besides the particles, and where it starts.
template <class Real>
struct SampleInputs {
  const targets::GaussianMixture* target = nullptr;
  std::string target_name;                 ///< the spec's file (or "target"), for messages
  ParticleSet<Real>* init = nullptr;  ///< start here instead of noise (moved from; any memory); null: draw
  bool log_likelihood = false;             ///< exact log-density of each final particle
  bool trajectory = false;                 ///< options.snapshots snapshots of the first particles
  /// Called after every step of dopri5 and sde, and at 16 evenly spread
  /// steps and the snapshot steps of the fixed-step methods: fraction of the
  /// time span done, steps done, steps planned (0 when adaptive), the time reached.
  std::function<void(double fraction, int step, int steps, double t)> progress;
  /// The ranks the cloud is split over (null or one rank: one process). Each
  /// rank integrates its shard of rows, drawn with the global particle index,
  /// so the result equals one process's bit for bit (dopri5: to rounding, its
  /// error norm being summed over ranks); rank 0 gathers the results.
  const Communicator* comm = nullptr;
};

template <class Real>
struct SampleRun {
  /// The final cloud, in the context's memory. With several ranks, this and
  /// the arrays below hold the whole cloud on rank 0 only (empty elsewhere).
  ParticleSet<Real> particles;
  std::vector<Real> rows;              ///< the same, row-major on the host, checked finite and plausible
  std::vector<double> log_likelihood;  ///< N values when asked, checked finite
  std::vector<Real> trajectory;        ///< snapshots x kept x d, row-major, when asked
  std::size_t kept = 0;                ///< particles in each snapshot
  integrate::Report report;            ///< steps, nfe, rejected steps
  /// The explicit fixed-step methods' predicted spread error on this target
  /// and grid (integrate/stability.hpp), checked before the run; not for
  /// dopri5, sde, ddim, dpmpp2m. suggested_steps: steps of the same schedule
  /// that bring it below 1% (0: not needed or not found within 64x).
  bool spread_checked = false;
  integrate::SpreadCheck spread;
  int suggested_steps = 0;
  /// "with 50 rk4 steps the spread of the target's components of whitened
  /// variance V comes out X% off (k steps unstable: ...); --steps N brings it
  /// below 1%, or use --integrator dopri5" (V: where the error is largest)
  /// when the predicted error exceeds 1%; empty otherwise. The CLI prints it
  /// as a warning, the Python package raises it as a RuntimeWarning.
  std::string spread_warning;
  double t0 = 0, t1 = 0;               ///< the time span integrated
  targets::Noise noise;                ///< the noise law (--noise-cov)
  /// The law the particles follow at t1: a(t1) X + b(t1) Y (the target itself when b(t1) = 0).
  targets::GaussianMixture law{1};
};

/// `options` as the CLI parsed them (paths of files are ignored: `inputs`
/// says what to compute); ctx carries the seed. Throws Error naming the
/// option on bad input and on a non-finite or implausible result.
template <class Real>
SampleRun<Real> run_sample_flow(Context& ctx, const SampleOptions& options, const SampleInputs<Real>& inputs);

extern template SampleRun<float> run_sample_flow(Context&, const SampleOptions&, const SampleInputs<float>&);
extern template SampleRun<double> run_sample_flow(Context&, const SampleOptions&, const SampleInputs<double>&);

}  // namespace flowsampler::cli
