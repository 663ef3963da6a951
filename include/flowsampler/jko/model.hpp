#pragma once
/// \file The JKO flow model without a network: the forward pass (data ->
/// noise) keeps the clouds X_0..X_K and the steps h_k; generation runs the
/// reverse process from fresh Y_K ~ pi,
///   Y_k = Y_{k+1} + h_k grad_W F(rho_{k+1})(Y_{k+1}),  F = KL(. || pi),
/// rho_{k+1}'s score estimated from the stored X_{k+1} with the parameters of
/// step k: the exact inverse of the backward-Euler step X_k -> X_{k+1} up to
/// its first-order residual (on the training points S_k(X_{k+1}) = X_k - h_k r_k).
///
/// A model directory holds manifest.json (format, version, precision, n,
/// dim, the target spec, h_k, the score parameters per step, file names) and
/// X_000.npy .. X_K.npy.
#include <cstddef>
#include <string>
#include <vector>

#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"
#include "flowsampler/jko/flow.hpp"
#include "flowsampler/jko/objective.hpp"
#include "flowsampler/jko/score.hpp"
#include "flowsampler/targets/gaussian_mixture.hpp"

namespace flowsampler::jko {

/// X_K run back to X_0 on the training points: a consistency check of the
/// forward solve. On those points S_k(X_{k+1}) - X_k = -h_k r_k, r_k the
/// solver's residual, so it is small by construction; it is not the seed's
/// inversion error (Assumption 2), which concerns a computed reverse process
/// on fresh points (`reproduce jko-convergence` measures it there).
struct InversionError {
  double rms = 0;       ///< sqrt(mean_i |X0_rec_i - X0_i|^2)
  double relative = 0;  ///< rms over the data's spread sqrt(mean_i |X0_i - mean|^2)
  double max = 0;       ///< max_i |X0_rec_i - X0_i|
  std::vector<double> per_step;  ///< rms |S_k(X_{k+1}) - X_k| for each step k (one block at a time)
};

template <class Real>
class JkoModel {
 public:
  /// From stored clouds X_0..X_K (K >= 1, same n >= 2 and d), K steps h_k > 0 and K score parameters.
  JkoModel(const targets::GaussianMixture& pi, std::vector<ParticleSet<Real>> clouds, std::vector<double> steps,
           std::vector<ScoreParams> score);

  /// The forward pass: runs the JKO scheme of KL(. || pi) with the given
  /// estimator from the data and keeps the clouds. `result` (optional)
  /// receives the per-step records.
  static JkoModel train(const Context& ctx, const targets::GaussianMixture& pi, const ScoreOptions& score,
                        const ParticleSet<Real>& data, FlowOptions options, FlowResult<Real>* result = nullptr);

  std::size_t steps() const { return steps_.size(); }
  std::size_t dim() const { return clouds_.front().d(); }
  const std::vector<ParticleSet<Real>>& clouds() const { return clouds_; }
  const std::vector<double>& step_sizes() const { return steps_; }
  const std::vector<ScoreParams>& score() const { return score_; }
  const targets::GaussianMixture& target() const { return pi_; }

  /// The reverse step k: S_k(y) = y + h_k grad_W F(rho_{k+1})(y).
  ParticleSet<Real> reverse_step(const Context& ctx, std::size_t k, const ParticleSet<Real>& y) const;
  /// Runs y (points at level K) back to level 0.
  ParticleSet<Real> reverse(const Context& ctx, const ParticleSet<Real>& y) const;
  /// n fresh draws of pi (ctx's random stream) run back to level 0.
  ParticleSet<Real> generate(Context& ctx, std::size_t n) const;
  /// X_K run back to X_0, compared with X_0 (the training points only: see InversionError).
  InversionError inversion_error(const Context& ctx) const;

  /// Writes the model directory (created if missing). Error when it cannot.
  void save(const std::string& dir, const std::string& precision_name = "") const;
  /// Reads a model directory. Error naming the file and the problem when a
  /// file is missing, unreadable or inconsistent (shapes, counts, target d).
  static JkoModel load(const Context& ctx, const std::string& dir);

 private:
  targets::GaussianMixture pi_;
  Objective<Real> F_;
  std::vector<ParticleSet<Real>> clouds_;
  std::vector<double> steps_;
  std::vector<ScoreParams> score_;
};

extern template class JkoModel<float>;
extern template class JkoModel<double>;

/// The target as a JSON spec text (targets/spec.hpp), full covariances.
std::string target_spec_json(const targets::GaussianMixture& pi);

}  // namespace flowsampler::jko
