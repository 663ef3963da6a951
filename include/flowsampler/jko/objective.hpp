#pragma once
/// \file Objective functionals F(rho) of the JKO scheme and their Wasserstein
/// gradients grad_W F(rho)(x) = grad (delta F / delta rho)(x), evaluated at
/// any points for rho the empirical law of a cloud. F is a weighted sum of
///
///   relative entropy  KL(rho || pi), pi a Gaussian mixture with a density:
///                     grad_W = -grad log pi + grad log rho, the exact score of
///                     pi (fields::GmmField) and the estimated score of rho
///                     (score.hpp; one estimator for the whole objective)
///   potential         int V drho, given by grad V (a whole-cloud functor)
///   interaction       (1/2) int int W(x - y) drho drho, W a pairwise kernel:
///                     grad_W = mean_j grad_x W(x - x_j) (pairwise::kernel_grad_sum)
///   mmd               (1/2) MMD_k^2(rho, beta) to a data cloud beta:
///                     grad_W = mean_j grad_x k(x, x_j) - mean_j grad_x k(x, y_j)
///                     (minus fields::Drift::mmd's velocity)
#include <functional>
#include <memory>
#include <vector>

#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"
#include "flowsampler/jko/score.hpp"
#include "flowsampler/pairwise/pairwise.hpp"
#include "flowsampler/targets/gaussian_mixture.hpp"

namespace flowsampler::fields {
class GmmField;
}

namespace flowsampler::jko {

template <class Real>
class Objective {
 public:
  /// grad V at each row of the argument (same shape).
  using GradFn = std::function<ParticleSet<Real>(const Context&, const ParticleSet<Real>&)>;

  /// F = 0 until terms are added; `score` is the estimator of grad log rho.
  explicit Objective(const ScoreOptions& score = {}) : score_(score) {}

  /// + weight KL(rho || pi). Error for Dirac atoms, weight <= 0, a d that
  /// differs from the other terms'.
  Objective& add_relative_entropy(const targets::GaussianMixture& pi, double weight = 1);
  /// + weight int V drho; `dim` is the d the functor expects.
  Objective& add_potential(GradFn grad_v, std::size_t dim, double weight = 1);
  /// + weight (1/2) int int W drho drho with W = kernel.
  Objective& add_interaction(const pairwise::KernelSpec& kernel, double weight = 1);
  /// + weight (1/2) MMD_k^2(rho, data) (a copy of data is kept).
  Objective& add_mmd(const Context& ctx, const ParticleSet<Real>& data, const pairwise::KernelSpec& kernel,
                     double weight = 1);

  /// The dimension fixed by the terms (0 when none fixes it).
  std::size_t dim() const { return d_; }
  bool empty() const { return terms_.empty(); }
  /// Whether some term needs the score of rho (relative entropy).
  bool needs_score() const;
  const ScoreOptions& score_options() const { return score_; }
  /// The target pi of the (first) relative-entropy term, null if none.
  const targets::GaussianMixture* target() const;

  /// The score estimator's parameters for this cloud (what a step fixes).
  ScoreParams resolve(const Context& ctx, const ParticleSet<Real>& cloud) const;

  /// grad_W F(rho)(y) for every row y of `at` (M x d), rho the law of
  /// `cloud` (N x d), with the score parameters `params`. Error on an empty
  /// cloud or points, a d that differs from the objective's, an empty objective.
  /// Split over ranks (comm of size > 1): every rank passes the whole cloud
  /// and its shard of it (rows comm->shard(N), possibly none) as `at`, and
  /// every rank must call (score_estimate).
  ParticleSet<Real> gradient(const Context& ctx, const ParticleSet<Real>& cloud, const ParticleSet<Real>& at,
                             const ScoreParams& params, const Communicator* comm = nullptr) const;

 private:
  enum class Kind { relative_entropy, potential, interaction, mmd };
  struct Term {
    Kind kind;
    double weight;
    std::shared_ptr<const targets::GaussianMixture> pi;
    std::shared_ptr<const fields::GmmField> field;
    GradFn grad_v;
    pairwise::KernelSpec kernel;
    std::shared_ptr<const ParticleSet<Real>> data;
  };
  void set_dim(std::size_t d, const char* what);
  ScoreOptions score_;
  std::size_t d_ = 0;
  std::vector<Term> terms_;
};

extern template class Objective<float>;
extern template class Objective<double>;

}  // namespace flowsampler::jko
