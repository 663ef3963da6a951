#pragma once
// A permutation of a cloud's rows that puts near points in near rows (Hilbert
// order, kernels/cloud/spatial_order.hpp), made and applied on the device:
// the host passes the cloud's box (2d values it already has) by value in the
// kernel's arguments, and nothing crosses back. Solvers whose results do not
// depend on the order of the points (Sinkhorn) run on the ordered clouds,
// where the softmax skips far spans (src/cpu/span_bounds.hpp), and put their
// per-point results back in the caller's order.
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "cloud/spatial_order.hpp"
#include "core/launch.hpp"
#include "flowsampler/core/buffer.hpp"
#include "flowsampler/core/particle_set.hpp"

namespace flowsampler::detail {

struct SpatialOrder {
  Buffer<double> keys;  ///< sorted keys; empty for the identity
  std::uint64_t mask = 0;
  bool identity() const { return keys.size() == 0; }
};

/// The Hilbert order of x's rows on a grid over the box [lo, hi] (x's own,
/// per column). The identity where it would not help or does not fit: d > 8
/// (boxes in many dimensions are loose), or fewer than 2 bits per axis left
/// beside the row's bits; also for a single point or a box of zero extent.
template <class Real>
SpatialOrder spatial_order(const Context& ctx, const ParticleSet<Real>& x, const std::vector<double>& lo,
                           const std::vector<double>& hi) {
  using Keys = kernels::HilbertKeys<Real>;
  SpatialOrder o;
  const std::size_t n = x.n(), d = x.d();
  if (n < 2 || d == 0 || d > static_cast<std::size_t>(Keys::max_dims)) return o;
  int index_bits = 1;
  while (index_bits < 52 && (std::uint64_t(1) << index_bits) < n) ++index_bits;
  const int bits = std::min(16, (52 - index_bits) / static_cast<int>(d));
  double extent = 0;
  for (std::size_t k = 0; k < d; ++k) extent = std::max(extent, hi[k] - lo[k]);
  if (bits < 2 || !(extent > 0)) return o;
  Keys f{nullptr, x.data(), n, static_cast<int>(d), bits, index_bits, {}, static_cast<double>(std::uint64_t(1) << bits) / extent};
  for (std::size_t k = 0; k < d; ++k) f.lo[k] = lo[k];
  o.keys = Buffer<double>(ctx, n);
  f.key = o.keys.data();
  o.mask = (std::uint64_t(1) << index_bits) - 1;
  for_each(ctx, n, f);
  sort_segments(ctx, o.keys.data(), 1, n);
  return o;
}

/// x's rows in the order, or with Back a result's rows on the ordered cloud
/// back in the caller's order (x itself for the identity).
template <bool Back, class Real>
ParticleSet<Real> reorder(const Context& ctx, const SpatialOrder& o, ParticleSet<Real> x) {
  if (o.identity()) return x;
  ParticleSet<Real> out(ctx, x.n(), x.d());
  for_each(ctx, x.size(), kernels::RowsByKey<Real, Back>{out.data(), x.data(), o.keys.data(), x.n(), o.mask});
  return out;
}

template <class Real>
ParticleSet<Real> in_order(const Context& ctx, const SpatialOrder& o, ParticleSet<Real> x) {
  return reorder<false>(ctx, o, std::move(x));
}

template <class Real>
ParticleSet<Real> in_input_order(const Context& ctx, const SpatialOrder& o, ParticleSet<Real> p) {
  return reorder<true>(ctx, o, std::move(p));
}

}  // namespace flowsampler::detail
