// CUDA instantiations of the JKO kernels (kernels/jko): the particle step's
// fixed-point iteration and the diagnostics' and flow model's row passes,
// for float and double.
#include "cuda/launch.cuh"
#include "jko/iterate.hpp"
#include "jko/rows.hpp"

using namespace flowsampler::kernels;

FLOWSAMPLER_CUDA_FOR_EACH(AndersonMix)
FLOWSAMPLER_CUDA_FOR_EACH(HistoryPush)

#define FLOWSAMPLER_JKO_KERNELS(Real)                                                                    \
  FLOWSAMPLER_CUDA_REDUCE(WidenCountNonFinite<Real>)                                                     \
  FLOWSAMPLER_CUDA_FOR_EACH(RoundIterate<Real>)                                                          \
  FLOWSAMPLER_CUDA_REDUCE(StepResidual<Real>)                                                            \
  FLOWSAMPLER_CUDA_REDUCE(CandidateResidual<Real>)                                                       \
  FLOWSAMPLER_CUDA_FOR_EACH(AddScaled<Real>)                                                             \
  FLOWSAMPLER_CUDA_FOR_EACH(AccumulateScaled<Real>)                                                      \
  FLOWSAMPLER_CUDA_FOR_EACH(NudgeRows<Real>)                                                             \
  FLOWSAMPLER_CUDA_REDUCE(InverseLipschitz<Real>)
FLOWSAMPLER_JKO_KERNELS(float)
FLOWSAMPLER_JKO_KERNELS(double)
