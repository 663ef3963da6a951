// CUDA instantiations of the pairwise engine for the Gaussian-mixture ops.
#include "cuda/pairwise.cuh"
#include "targets/gmm_ops.hpp"

namespace flowsampler::cuda {
using kernels::GmmOp;
using kernels::Reduction;
template void pairwise<Reduction::softmax, GmmOp<float, false>, float>(Handles*, const GmmOp<float, false>&,
                                                                       kernels::PairwiseDeviceArgs<float>);
template void pairwise<Reduction::softmax, GmmOp<float, true>, float>(Handles*, const GmmOp<float, true>&,
                                                                      kernels::PairwiseDeviceArgs<float>);
template void pairwise<Reduction::softmax, GmmOp<double, false>, double>(Handles*, const GmmOp<double, false>&,
                                                                         kernels::PairwiseDeviceArgs<double>);
template void pairwise<Reduction::softmax, GmmOp<double, true>, double>(Handles*, const GmmOp<double, true>&,
                                                                        kernels::PairwiseDeviceArgs<double>);
}  // namespace flowsampler::cuda
