#pragma once
// Host-callable declaration of the CUDA pairwise launcher. Defined in
// src/cuda/pairwise.cuh; each .cu that ships ops instantiates it for them.
#include "pairwise/body.hpp"

namespace flowsampler::cuda {
struct Handles;
/// Launches PairwiseBody<D, Op, R> for the D of a.d (device_dim: 0 where a
/// compile-time D would spill registers) on the context's stream
/// (`op` points to an Op). The runtime-d path needs a.carry and a.tacc
/// (n x p each), which the device backend takes from its pool.
template <kernels::Reduction R, class Op, class Real>
void pairwise(Handles* h, const void* op, const kernels::PairwiseDeviceArgs<Real>& a);
}  // namespace flowsampler::cuda
