#pragma once
/// \file Gaussian-mixture targets, Dirac atoms, and the noise covariance.
#include <cstddef>
#include <string>
#include <vector>

#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"

namespace flowsampler::targets {

enum class Covariance { isotropic, diagonal, full };

/// A mixture of K Gaussians N(m_k, S_k) in d dimensions with weights w_k.
/// Each covariance is isotropic, diagonal or full (mixed in one model) and is
/// validated and factored once, S_k = U_k diag(lambda_k) U_k^T, when added.
/// Weights are normalized on use. Dirac atoms (S_k = 0) come from empirical().
class GaussianMixture {
 public:
  explicit GaussianMixture(std::size_t dim);

  /// Adds a component. `covariance` holds 1 number (isotropic variance), d
  /// numbers (diagonal) or d*d numbers (full, row-major, symmetric positive
  /// definite). Error naming the component and the problem otherwise.
  GaussianMixture& add(double weight, const std::vector<double>& mean, const std::vector<double>& covariance);

  /// Dirac atoms: n points (row-major n x d), equal weights, zero covariance.
  /// Their noised law is a Gaussian mixture; paths must stop before b(t) = 0.
  static GaussianMixture empirical(const std::vector<double>& rows, std::size_t n, std::size_t d);

  std::size_t dim() const { return d_; }
  std::size_t size() const { return comps_.size(); }
  bool has_atoms() const { return atoms_; }
  bool has_full() const;
  /// Normalized weights (Error when empty or all zero).
  std::vector<double> weights() const;
  const std::vector<double>& mean(std::size_t k) const { return comps_.at(k).mean; }
  Covariance kind(std::size_t k) const { return comps_.at(k).kind; }
  /// Eigenvalues of S_k (d values).
  const std::vector<double>& eigenvalues(std::size_t k) const { return comps_.at(k).lambda; }
  /// Eigenvectors of S_k, d x d column-major (the identity unless full).
  std::vector<double> eigenvectors(std::size_t k) const;
  /// S_k as a dense d x d matrix (row-major = column-major: symmetric).
  std::vector<double> covariance(std::size_t k) const;

  /// The same mixture with every mean moved by `shift` (d values): the law of
  /// X + shift. Weights, covariances and atoms unchanged.
  GaussianMixture translated(const std::vector<double>& shift) const;

  /// n independent draws (categorical component, then m_k + U_k lambda^1/2 eps),
  /// using ctx's random stream. first_row: the global index of the first
  /// draw, for a rank's shard of a larger sample (the set's first_row()).
  template <class Real>
  ParticleSet<Real> sample(Context& ctx, std::size_t n, std::size_t first_row = 0) const;

 private:
  struct Component {
    double weight;
    std::vector<double> mean;
    Covariance kind;
    std::vector<double> lambda;  // d eigenvalues
    std::vector<double> U;       // d x d column-major, full only
  };
  std::size_t d_;
  bool atoms_ = false;
  std::vector<Component> comps_;
};

/// The mixture's mean sum_k w_k m_k (d values) and covariance
/// sum_k w_k (S_k + m_k m_k^T) - mean mean^T (d x d), exact.
std::vector<double> mixture_mean(const GaussianMixture& g);
std::vector<double> mixture_covariance(const GaussianMixture& g);

/// Y ~ N(0, Sigma_n): isotropic sigma^2 I (the default, sigma = 1), diagonal
/// or full SPD. Stored as W = Sigma_n^(1/2) (symmetric) and its inverse.
class Noise {
 public:
  static Noise isotropic(double sigma2 = 1.0);
  static Noise diagonal(const std::vector<double>& variances);
  /// d*d row-major symmetric positive definite.
  static Noise full(const std::vector<double>& covariance, std::size_t d);
  /// Parses "1.5" (sigma^2), a list of d numbers, or d*d numbers; Error otherwise.
  static Noise parse(const std::vector<double>& values, std::size_t d);

  bool is_isotropic() const { return iso_; }
  double sigma2() const { return sigma2_; }
  /// W and W^-1 for dimension d, d x d column-major.
  std::vector<double> sqrt_matrix(std::size_t d) const;
  std::vector<double> inv_sqrt_matrix(std::size_t d) const;
  /// log det W (for the change of variables of densities).
  double log_det_sqrt(std::size_t d) const;

 private:
  bool iso_ = true;
  double sigma2_ = 1.0;
  std::size_t d_ = 0;
  std::vector<double> W_, Winv_;
};

/// The law of Z = a X + b Y: components N(a m_k, a^2 S_k + b^2 Sigma_n), same
/// weights. With b = 0 it is the target scaled by a (Error for Dirac atoms
/// when a = b = 0).
GaussianMixture noised(const GaussianMixture& target, const Noise& noise, double a, double b);

/// The initial law of a path at its start (a0, b0): `exact` draws from the
/// noised law above (e.g. q_T of the vp path with a finite horizon, where
/// a0 = exp(-T) > 0); otherwise the standard noise b0 Y, Y ~ N(0, Sigma_n).
template <class Real>
ParticleSet<Real> sample_initial(Context& ctx, const GaussianMixture& target, const Noise& noise, double a0,
                                 double b0, std::size_t n, bool exact, std::size_t first_row = 0);

/// The mixture in whitened coordinates w = W^-1 z, where the noise is N(0, I):
/// m_k -> W^-1 m_k, S_k -> W^-1 S_k W^-1 (refactored once).
GaussianMixture whiten(const GaussianMixture& target, const Noise& noise);

}  // namespace flowsampler::targets
