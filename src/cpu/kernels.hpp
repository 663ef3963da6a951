#pragma once
// The CPU's implementation of the kernels of the backend table, shared by
// the CPU backend and the emulator (which runs them on its arena).
#include <cstddef>

#include "core/device.hpp"

namespace flowsampler::cpu {

/// OpenBLAS with `threads` threads for products worth a team, one thread below
/// (small products, e.g. a Monge batch's layers, lose to the team's wake-ups).
template <class Real>
void gemm(const detail::Gemm<Real>& g, int threads);
template <class Real>
void sort_segments(Real* keys, std::size_t segments, std::size_t length, int threads);

}  // namespace flowsampler::cpu
