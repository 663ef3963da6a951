// CUDA instantiations of the drift fields' kernels (kernels/fields): weight
// maps, the normalized drifting field's per-point arithmetic and the
// attention field's augmented points, for float and double (the gathers are
// core kernels: core_kernels.cu). (The fused SVGD pass is a pairwise op: pairwise_ops.cu.)
#include <cstdint>

#include "cuda/launch.cuh"
#include "fields/attention.hpp"
#include "fields/normalized_drift.hpp"
#include "fields/weights.hpp"

using namespace flowsampler::kernels;

#define FLOWSAMPLER_DRIFT_KERNELS(Real)                       \
  FLOWSAMPLER_CUDA_FOR_EACH(ExpScaled<Real>)                  \
  FLOWSAMPLER_CUDA_FOR_EACH(HalfNegLse<Real>)                 \
  FLOWSAMPLER_CUDA_REDUCE(NormalizedDriftNorms<Real>)         \
  FLOWSAMPLER_CUDA_FOR_EACH(NormalizedDriftAccumulate<Real>)  \
  FLOWSAMPLER_CUDA_FOR_EACH(AttentionAugment<Real>)
FLOWSAMPLER_DRIFT_KERNELS(float)
FLOWSAMPLER_DRIFT_KERNELS(double)
