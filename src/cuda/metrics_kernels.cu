// CUDA instantiations of the metrics' kernels (kernels/metrics): the
// per-point steps of log-domain Sinkhorn, the sorted 1-D W2 of sliced W2, the
// k-th neighbour distances of the kNN estimators, and the row reductions of
// the Lipschitz estimate (RowSqDist, shared with the JKO diagnostics, is in core_kernels.cu).
#include "cuda/launch.cuh"
#include "metrics/knn.hpp"
#include "metrics/rows.hpp"
#include "metrics/sinkhorn.hpp"
#include "metrics/sliced_w2.hpp"

using namespace flowsampler::kernels;

#define FLOWSAMPLER_METRICS_KERNELS(Real)                                                                \
  FLOWSAMPLER_CUDA_FOR_EACH(SinkhornLogWeights<Real>) FLOWSAMPLER_CUDA_FOR_EACH(SinkhornRelax<Real>)    \
  FLOWSAMPLER_CUDA_FOR_EACH(ShiftColumns<Real>) FLOWSAMPLER_CUDA_REDUCE(SinkhornMarginalError<Real>)    \
  FLOWSAMPLER_CUDA_REDUCE(SinkhornPlanCost<Real>) FLOWSAMPLER_CUDA_REDUCE(BoundingBox<Real>)           \
  FLOWSAMPLER_CUDA_REDUCE(SortedW2<Real>) FLOWSAMPLER_CUDA_REDUCE(LogKthDistance<Real>)                \
  FLOWSAMPLER_CUDA_REDUCE(FirstZeroKth<Real>) FLOWSAMPLER_CUDA_FOR_EACH(FiniteDifferencePoints<Real>) \
  FLOWSAMPLER_CUDA_FOR_EACH(LipschitzRatio<Real>)
FLOWSAMPLER_METRICS_KERNELS(float)
FLOWSAMPLER_METRICS_KERNELS(double)

FLOWSAMPLER_CUDA_REDUCE(Values<false>)
FLOWSAMPLER_CUDA_REDUCE(Values<true>)
