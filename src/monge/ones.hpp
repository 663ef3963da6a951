#pragma once
// A column of ones in a context's memory: the right-hand side of the GEMMs
// that sum per-point parameter gradients over a batch (column sums).
#include "cloud/lincomb.hpp"
#include "core/launch.hpp"
#include "flowsampler/core/particle_set.hpp"

namespace flowsampler::monge {

inline ParticleSet<double> ones(const Context& ctx, std::size_t n) {
  ParticleSet<double> o(ctx, n, 1);
  flowsampler::detail::for_each(ctx, n, kernels::Fill<double>{o.data(), 1.0});
  return o;
}

}  // namespace flowsampler::monge
