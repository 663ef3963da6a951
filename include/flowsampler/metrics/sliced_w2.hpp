#pragma once
/// \file Sliced Wasserstein-2 distance between two clouds.
#include <cstdint>

#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"

namespace flowsampler::metrics {

struct SlicedW2 {
  double w2_squared = 0;   ///< mean over the directions of the 1-D W2^2 (SW2^2)
  double std_error = 0;    ///< its Monte Carlo standard error over the directions
  int projections = 0;
};

/// SW2^2 = E_theta W2^2(theta . X, theta . Y) over P directions theta drawn
/// uniformly on the sphere from `seed` (the same seed gives the same
/// directions on every backend and thread count). The projections of each
/// batch of directions are one GEMM; each projected column is sorted (a
/// segmented sort: radix sort on the CPU) and the 1-D W2 of the sorted columns
/// is a reduction, all where the clouds live: on a device only the P x d
/// directions go up and the P values come down. Unequal sizes N != M use
/// quantile matching: the exact 1-D W2 between the two empirical measures
/// with uniform weights. Error on mismatched d, empty sets, P < 1.
template <class Real>
SlicedW2 sliced_w2(const Context& ctx, const ParticleSet<Real>& x, const ParticleSet<Real>& y, int projections,
                   std::uint64_t seed = 0);

/// The exact 1-D W2^2 between sorted samples u (n values) and v (m values),
/// uniform weights: the integral over q in (0, 1) of (F_u^-1(q) - F_v^-1(q))^2.
double w2_squared_1d_sorted(const double* u, std::size_t n, const double* v, std::size_t m);

}  // namespace flowsampler::metrics
