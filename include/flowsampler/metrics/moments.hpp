#pragma once
/// \file Moments of a particle cloud.
#include <vector>

#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"

namespace flowsampler::metrics {

/// Sum of each coordinate over the particles (d values), accumulated in double.
template <class Real>
std::vector<double> column_sums(const Context& ctx, const ParticleSet<Real>& x);

/// Mean of the cloud (d values). Throws Error on an empty cloud.
template <class Real>
std::vector<double> mean(const Context& ctx, const ParticleSet<Real>& x);

}  // namespace flowsampler::metrics
