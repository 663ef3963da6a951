#pragma once
/// \file Functionals F on the pushed measure mu = (1/N) sum_i delta_{y_i}
/// (y_i = T(x_i)) and their Wasserstein gradients grad_W F(mu)(y_i), the
/// drive of every Monge-map scheme (monge/train.hpp).
///
///   kl        KL(mu | pi), pi = e^{-V} a Gaussian-mixture target:
///             grad_W F = grad V + grad log mu, grad V = -score of pi (exact),
///             grad log mu estimated from the pushed batch by one of the JKO
///             score estimators (jko/score.hpp): blob by default, or the
///             seed's self-entropic-OT estimate (eps = 0.05 x the median
///             squared distance)
///   mmd       (1/2) MMD_k^2(mu, nu) to fixed target samples nu (energy kernel
///             by default): grad_W F = -(the fields::Drift::mmd drift)
///   sinkhorn  the Sinkhorn divergence S_eps(mu, nu) (cost |x - y|^2):
///             grad_W F = 2 (T_{mu->mu} - T_{mu->nu}), the debiased barycentric
///             projections, i.e. -2 x (the fields::Drift::sinkhorn drift)
#include <memory>
#include <string>

#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"
#include "flowsampler/jko/score.hpp"
#include "flowsampler/pairwise/pairwise.hpp"
#include "flowsampler/targets/gaussian_mixture.hpp"

namespace flowsampler::monge {

class Functional {
 public:
  virtual ~Functional() = default;
  virtual std::string name() const = 0;
  virtual std::size_t dim() const = 0;
  /// grad_W F(mu)(y_i), N x d (same layout as y). Error on a dimension mismatch or N < 2.
  virtual ParticleSet<double> wgrad(const Context& ctx, const ParticleSet<double>& y) const = 0;
  /// F(mu), or NaN where no cheap estimate exists.
  virtual double value(const Context& ctx, const ParticleSet<double>& y) const = 0;
};

/// What to do when a KL target is not log-concave (the constrained flow's
/// convergence theory needs it): refuse (Error), warn (one line on stderr), or skip the check.
enum class LogConcaveCheck { refuse, warn, skip };

struct KlOptions {
  /// The estimate of grad log mu. A scheme driven by an estimate that is, on
  /// average, beta times the true score settles at beta x the target's
  /// covariance; blob's beta is the closest to 1 from 200 points up
  /// (`flowsampler reproduce monge`, score table: at n = 200, 0.86 against
  /// 0.82 for the self-entropic-OT estimate; at 3200, 0.96 against 0.94).
  jko::ScoreEstimator score = jko::ScoreEstimator::blob;
  double bandwidth = 0;     ///< kde, kde-corrected, blob: 0 = Silverman's rule on each batch
  double ot_eps = 0;        ///< ot: 0 = 0.05 x the median squared distance, per call
  double ot_tol = 1e-4;     ///< ot: Sinkhorn marginal tolerance
  LogConcaveCheck check = LogConcaveCheck::refuse;
  std::size_t check_points = 2000;  ///< mixtures: target draws on which the Hessian of log pi is checked
  int knn_k = 5;            ///< value(): Kozachenko-Leonenko entropy with k neighbours
};

/// KL(mu | pi) for a Gaussian-mixture pi. One Gaussian is log-concave (exact).
/// For a mixture, the Hessian of log pi is evaluated in closed form at
/// `check_points` draws of pi (drawn with ctx) and at 9 points on each segment
/// between two component means: a positive eigenvalue there is refused (or
/// warned about); log-concavity away from those points is unchecked. Error for Dirac atoms (no density). value() = -H_knn(mu) - E_mu log pi.
std::unique_ptr<Functional> make_kl(Context& ctx, const targets::GaussianMixture& target, const KlOptions& options = {});

/// The largest eigenvalue of the Hessian of log pi over the points (N x d):
/// <= 0 everywhere on them where pi is log-concave. Closed form.
double max_log_density_curvature(const targets::GaussianMixture& target, const ParticleSet<double>& points);

/// (1/2) MMD_k^2(mu, nu) to the fixed samples nu (M x d, M >= 1). Error on an
/// empty nu or a bad bandwidth.
std::unique_ptr<Functional> make_mmd(const Context& ctx, const ParticleSet<double>& target_samples,
                                     const pairwise::KernelSpec& kernel = {pairwise::Kernel::energy, 1.0});

/// S_eps(mu, nu) to the fixed samples nu. eps in squared-distance units; 0 =
/// 0.05 x the median squared distance of mu, per call.
std::unique_ptr<Functional> make_sinkhorn(const Context& ctx, const ParticleSet<double>& target_samples, double eps = 0,
                                          double tol = 1e-4);

}  // namespace flowsampler::monge
