// CUDA instantiations of the pairwise engine for the Gaussian-mixture ops
// (every covariance kind x every value set x float/double).
#include "cuda/pairwise.cuh"
#include "targets/gmm_ops.hpp"

namespace flowsampler::cuda {
using kernels::GmmOp;
using kernels::GmmValues;
using kernels::Reduction;
#define FLOWSAMPLER_GMM(Real, Full, V)                                                              \
  template void pairwise<Reduction::softmax, GmmOp<Real, Full, V>, Real>(Handles*, const void*,              \
                                                                         const kernels::PairwiseDeviceArgs<Real>&);
#define FLOWSAMPLER_GMM_ALL(Real, Full)                 \
  FLOWSAMPLER_GMM(Real, Full, GmmValues::all)           \
  FLOWSAMPLER_GMM(Real, Full, GmmValues::score)         \
  FLOWSAMPLER_GMM(Real, Full, GmmValues::denoiser)      \
  FLOWSAMPLER_GMM(Real, Full, GmmValues::velocity_score) \
  FLOWSAMPLER_GMM(Real, Full, GmmValues::velocity_denoiser)
FLOWSAMPLER_GMM_ALL(float, false)
FLOWSAMPLER_GMM_ALL(float, true)
FLOWSAMPLER_GMM_ALL(double, false)
FLOWSAMPLER_GMM_ALL(double, true)
#undef FLOWSAMPLER_GMM_ALL
#undef FLOWSAMPLER_GMM
}  // namespace flowsampler::cuda

// The kernels around the engine: the fields' per-particle finish and the
// mixture's draws.
#include "cuda/launch.cuh"
#include "targets/gmm_draw.hpp"
#include "targets/gmm_epilogue.hpp"
FLOWSAMPLER_CUDA_FOR_EACH(flowsampler::kernels::GmmEpilogue<float>)
FLOWSAMPLER_CUDA_FOR_EACH(flowsampler::kernels::GmmEpilogue<double>)
FLOWSAMPLER_CUDA_FOR_EACH(flowsampler::kernels::GmmDraw<float>)
FLOWSAMPLER_CUDA_FOR_EACH(flowsampler::kernels::GmmDraw<double>)
