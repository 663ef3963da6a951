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

/// Covariance of the cloud, d x d (symmetric, so row- and column-major alike),
/// normalized by N - 1 (`unbiased`) or N. Two passes: the mean, then the
/// centered products accumulated in double (BLAS syrk on the CPU), so a large
/// offset does not cancel the variance. Error when N < 2 with `unbiased`.
template <class Real>
std::vector<double> covariance(const Context& ctx, const ParticleSet<Real>& x, bool unbiased = true);

}  // namespace flowsampler::metrics
