// CUDA instantiations of the Monge kernels (kernels/monge): the potentials'
// activations and adjoints, the training losses' gradients and the cloud
// sampler's resampling (double only, as the Monge module).
#include "cuda/launch.cuh"
#include "monge/icnn.hpp"
#include "monge/losses.hpp"
#include "monge/lse.hpp"

using namespace flowsampler::kernels;

FLOWSAMPLER_CUDA_FOR_EACH(IcnnActivate)
FLOWSAMPLER_CUDA_FOR_EACH(Product)
FLOWSAMPLER_CUDA_FOR_EACH(ScaleColumns)
FLOWSAMPLER_CUDA_FOR_EACH(IcnnAdjoint)
FLOWSAMPLER_CUDA_FOR_EACH(SkipMap)
FLOWSAMPLER_CUDA_FOR_EACH(SkipValue)
FLOWSAMPLER_CUDA_FOR_EACH(LseSoftmax)
FLOWSAMPLER_CUDA_FOR_EACH(LseAdjoint)
FLOWSAMPLER_CUDA_FOR_EACH(DivideBy)
FLOWSAMPLER_CUDA_FOR_EACH(AnchorStep)
FLOWSAMPLER_CUDA_FOR_EACH(ExplicitLossGrad)
FLOWSAMPLER_CUDA_FOR_EACH(ImplicitLossGrad)
FLOWSAMPLER_CUDA_FOR_EACH(ResampleRows)
