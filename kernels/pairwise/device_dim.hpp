#pragma once
// The compile-time dimension the CUDA pairwise body runs for an op (issue 17,
// "no register spills for d <= 64"). A compile-time D keeps each lane's state
// in registers (pairwise/body.hpp, PairwiseLane): x_i (D Reals), the tile
// accumulator (P Reals) and the carry (P doubles), P the op's value_dim(D),
// plus whatever the op's own pair code holds per lane (declared by the op as
// `static constexpr int lane_extra_registers(int d)`, e.g. the full-covariance
// GMM op's rotated vectors). When that estimate passes the budget, ptxas
// spills it to local memory, which is slower than the runtime-d path that
// keeps the state in memory on purpose (coalesced, n x p): device_dim<Op,
// Real, D> is then 0, that path. The CPU engine keeps every D (no register
// file to overflow); the CUDA launcher, the engine's scratch sizing and the
// SIMT tests all go through here, so they agree on the instantiation.
#include <type_traits>

#include "pairwise/dispatch.hpp"

namespace flowsampler::kernels {

/// 32-bit registers a lane's state may take (of the 255 a thread may use; the
/// rest holds the tile loop's pointers, the pair code's temporaries).
constexpr int lane_register_budget = 160;

template <class Op, class = void>
struct has_lane_extra_registers : std::false_type {};
template <class Op>
struct has_lane_extra_registers<Op, std::void_t<decltype(Op::lane_extra_registers(1))>> : std::true_type {};

/// Estimated registers of one lane's state at compile-time dimension D.
template <class Op, class Real, int D>
constexpr int lane_registers() {
  constexpr int P = Op::value_dim(D);
  constexpr int words = static_cast<int>(sizeof(Real) / 4);
  int extra = 0;
  if constexpr (has_lane_extra_registers<Op>::value) extra = Op::lane_extra_registers(D);
  return (D + P) * words + 2 * P + extra;
}

/// D when the lane's state fits lane_register_budget, else 0 (the runtime-d path).
template <class Op, class Real, int D>
constexpr int device_dim() {
  if constexpr (D == 0)
    return 0;
  else
    return lane_registers<Op, Real, D>() <= lane_register_budget ? D : 0;
}

/// dispatch_dim for the device body of Op: f(std::integral_constant<int, D>)
/// with D = device_dim of d's compile-time specialization.
template <class Op, class Real, class F>
void dispatch_device_dim(int d, F&& f) {
  dispatch_dim(d, [&](auto dc) { f(std::integral_constant<int, device_dim<Op, Real, decltype(dc)::value>()>{}); });
}

}  // namespace flowsampler::kernels
