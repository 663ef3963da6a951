#pragma once
/// \file Distances between transport maps given by their images, and a
/// Lipschitz estimate of a map by finite differences.
#include <cstdint>
#include <functional>

#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"

namespace flowsampler::metrics {

struct MapDistance {
  double l2 = 0;   ///< ||T1 - T2||_{L2(rho)} = sqrt(mean_i |a_i - b_i|^2)
  double max = 0;  ///< max_i |a_i - b_i|
};

/// a_i = T1(x_i) and b_i = T2(x_i) for the same inputs x_i ~ rho (rows
/// paired). Error on mismatched shapes, empty sets, non-finite results.
template <class Real>
MapDistance map_distance(const Context& ctx, const ParticleSet<Real>& a, const ParticleSet<Real>& b);

struct LipschitzEstimate {
  double max = 0;     ///< max_i |T(x_i + h u_i) - T(x_i)| / h: a lower estimate of Lip(T)
  double mean = 0;    ///< the mean of the same ratios
  double median = 0;
};

/// Finite differences of `map` (a whole-cloud map, e.g. a flow map by
/// integrate) at each x_i along a random unit direction u_i (seeded), step h.
template <class Real>
LipschitzEstimate lipschitz_estimate(const Context& ctx,
                                     const std::function<ParticleSet<Real>(const ParticleSet<Real>&)>& map,
                                     const ParticleSet<Real>& x, double h, std::uint64_t seed = 0);

}  // namespace flowsampler::metrics
