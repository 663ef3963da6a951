#pragma once
/// \file Exact fields of a Gaussian-mixture target along an interpolation path.
///
/// For Z_t = a(t) X + b(t) Y with X ~ target and Y ~ N(0, Sigma_n), at one
/// path point (a, b, a', b') and for a whole particle set in one pass:
/// log p_t, the score grad log p_t, the denoiser D = E[X | Z_t = z], the
/// velocity v = E[a' X + b' Y | Z_t = z] and its exact divergence div v
/// (DESIGN.md section 5). The velocity uses the form that is regular where it
/// is evaluated: the denoiser form while |a| < b, the score form otherwise.
#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"
#include "flowsampler/paths/path.hpp"
#include "flowsampler/targets/gaussian_mixture.hpp"

namespace flowsampler::fields {

/// Which fields evaluate() computes (the others come back empty).
struct FieldRequest {
  bool log_density = false;  ///< N x 1
  bool score = false;        ///< N x d
  bool denoiser = false;     ///< N x d
  bool velocity = false;     ///< N x d
  bool divergence = false;   ///< N x 1: div of the velocity
};

template <class Real>
struct FieldValues {
  ParticleSet<Real> log_density, score, denoiser, velocity, divergence;
};

class GmmField {
 public:
  /// Factors the target in the coordinates that whiten the noise, once.
  explicit GmmField(const targets::GaussianMixture& target, const targets::Noise& noise = targets::Noise::isotropic());

  /// Error when z has the wrong d, when the path point is singular for this
  /// target (b = 0 with Dirac atoms: early stopping is required), or when a
  /// full covariance has d > 64.
  template <class Real>
  FieldValues<Real> evaluate(const Context& ctx, const paths::PathPoint& p, const ParticleSet<Real>& z,
                             const FieldRequest& what) const;

  /// The velocity alone.
  template <class Real>
  ParticleSet<Real> velocity(const Context& ctx, const paths::PathPoint& p, const ParticleSet<Real>& z) const {
    FieldRequest r;
    r.velocity = true;
    return std::move(evaluate(ctx, p, z, r).velocity);
  }

  std::size_t dim() const { return white_.dim(); }
  const targets::Noise& noise() const { return noise_; }
  /// The target in whitened coordinates (what the kernels see).
  const targets::GaussianMixture& whitened_target() const { return white_; }

 private:
  targets::GaussianMixture white_;
  targets::Noise noise_;
  std::vector<double> W_, Winv_;  // noise square root and inverse, d x d column-major
  double log_det_W_ = 0;
  bool identity_noise_ = true;
};

}  // namespace flowsampler::fields
