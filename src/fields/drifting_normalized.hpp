#pragma once
// The drifting field in the form of the public implementation of 'Generative
// Modeling via Drifting' (Deng et al. 2026); see fields/drifts.hpp.
#include <vector>

#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"

namespace flowsampler::detail {

/// sum over temperatures tau of V_tau / rms(V_tau), V_tau the doubly normalized
/// attraction-minus-repulsion field of the generated cloud x toward the data y
/// with Laplace logits -|x - t| / (s tau), s the mean distance from x to the
/// targets t (the data and the other generated points).
template <class Real>
ParticleSet<Real> drifting_normalized(const Context& ctx, const ParticleSet<Real>& x, const ParticleSet<Real>& y,
                                      const std::vector<double>& temperatures, bool include_self);

}  // namespace flowsampler::detail
