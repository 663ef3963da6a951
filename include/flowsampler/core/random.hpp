#pragma once
/// \file Counter-based random fills (Philox4x32-10) on both backends.
///
/// The numbers drawn for particle i depend only on (ctx.seed(), i, the draw
/// counter): not on N, the thread count, the batch or the shard. So the
/// first 1000 particles of a 2000-particle fill equal a 1000-particle fill
/// bit for bit, on each backend. Each call consumes one draw of `ctx`.
#include <cstdint>
#include <vector>

#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"

namespace flowsampler {

/// Standard normal N(0, I) fill of every coordinate (Box–Muller).
template <class Real>
void fill_normal(Context& ctx, ParticleSet<Real>& out);

/// Uniform fill on the half-open interval (0, 1] (never 0, so log is safe).
template <class Real>
void fill_uniform(Context& ctx, ParticleSet<Real>& out);

/// n independent draws of an index in [0, K) with probabilities proportional
/// to `weights` (non-negative, finite, not all zero; checked). Host result.
std::vector<std::uint32_t> categorical(Context& ctx, const std::vector<double>& weights,
                                       std::size_t n);

}  // namespace flowsampler
