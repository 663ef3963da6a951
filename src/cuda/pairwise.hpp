#pragma once
// Host-callable declaration of the CUDA pairwise launcher. Defined in
// src/cuda/pairwise.cuh; each .cu that ships ops instantiates it for them.
#include "pairwise/body.hpp"

namespace flowsampler::cuda {
struct Handles;
/// Launches PairwiseBody<D, Op, R> for the D of a.d; allocates the runtime-d
/// scratch itself (a.carry, a.tacc are ignored on input). Asynchronous on the
/// context's stream.
template <kernels::Reduction R, class Op, class Real>
void pairwise(Handles* h, const Op& op, kernels::PairwiseDeviceArgs<Real> a);
}  // namespace flowsampler::cuda
