#pragma once
/// \file Field<Real>: a time-dependent field over a whole particle cloud, the
/// one thing the integrators move particles with.
///
/// An integrator asks for the velocity at a time for the whole cloud (one call
/// per stage, so a field is free to run one fused kernel over all particles).
/// A field may offer more: the exact divergence (log-likelihoods), the score
/// (reverse SDEs, Langevin correction) and the denoiser with the path it refers
/// to (exponential steps). `capabilities()` says which; the integrators check
/// it and name what is missing. The exact GMM flow (GmmFlow, gmm_field.hpp),
/// kernel drifts and user functors (pointwise.hpp) all plug in here.
#include <cstddef>
#include <utility>

#include "flowsampler/core/context.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/core/particle_set.hpp"
#include "flowsampler/paths/path.hpp"

namespace flowsampler::fields {

/// Which quantities evaluate() computes (the others come back empty).
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

template <class Real>
class Field {
 public:
  virtual ~Field() = default;
  /// The dimension d of the particles; 0 for fields of the cloud alone
  /// (e.g. KDE and OT score estimates), which work in any d.
  virtual std::size_t dim() const = 0;
  /// What evaluate() can compute (velocity at least).
  virtual FieldRequest capabilities() const {
    FieldRequest r;
    r.velocity = true;
    return r;
  }
  /// The quantities in `what` at time t for every particle of z.
  virtual FieldValues<Real> evaluate(const Context& ctx, double t, const ParticleSet<Real>& z,
                                     const FieldRequest& what) const = 0;
  /// The path whose a(t), b(t) the denoiser and score refer to (needed by
  /// ddim, dpmpp2m and the reverse SDE); null when the field has none.
  virtual const paths::Path* path() const { return nullptr; }
  /// True when the values at a particle depend on that particle (and t)
  /// alone, so that any subset of the rows can be evaluated on its own. The
  /// host integrators then move such a field's cloud block by block
  /// (integrate.hpp). Kernel drifts and score estimates read the whole cloud.
  virtual bool pointwise() const { return false; }

  ParticleSet<Real> velocity(const Context& ctx, double t, const ParticleSet<Real>& z) const {
    FieldRequest r;
    r.velocity = true;
    return std::move(evaluate(ctx, t, z, r).velocity);
  }
  /// Error naming `user` when a quantity in `what` is not offered.
  void require(const FieldRequest& what, const char* user) const {
    const FieldRequest c = capabilities();
    auto need = [&](bool wanted, bool offered, const char* name) {
      FLOWSAMPLER_EXPECTS(!wanted || offered, user << " needs the " << name << " of the field, which it does not offer");
    };
    need(what.log_density, c.log_density, "log-density");
    need(what.score, c.score, "score");
    need(what.denoiser, c.denoiser, "denoiser");
    need(what.velocity, c.velocity, "velocity");
    need(what.divergence, c.divergence, "divergence");
    need(what.score || what.denoiser, path() != nullptr, "path (a, b)");
  }
};

}  // namespace flowsampler::fields
