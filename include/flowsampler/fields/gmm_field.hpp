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
#include "flowsampler/fields/field.hpp"
#include "flowsampler/core/particle_set.hpp"
#include "flowsampler/paths/path.hpp"
#include "flowsampler/targets/gaussian_mixture.hpp"

namespace flowsampler::fields {

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

/// The exact flow of a target along a path, as a Field for the integrators:
/// velocity, divergence, score, denoiser and log-density at generation time t.
template <class Real>
class GmmFlow final : public Field<Real> {
 public:
  GmmFlow(GmmField field, paths::Path path) : field_(std::move(field)), path_(std::move(path)) {}
  std::size_t dim() const override { return field_.dim(); }
  FieldRequest capabilities() const override { return FieldRequest{true, true, true, true, true}; }
  FieldValues<Real> evaluate(const Context& ctx, double t, const ParticleSet<Real>& z,
                             const FieldRequest& what) const override {
    return field_.evaluate(ctx, path_.at(t), z, what);
  }
  const paths::Path* path() const override { return &path_; }
  bool pointwise() const override { return true; }
  const GmmField& field() const { return field_; }

 private:
  GmmField field_;
  paths::Path path_;
};

}  // namespace flowsampler::fields
