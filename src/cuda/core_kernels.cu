// CUDA instantiations of the core kernels: cloud linear combinations, fills,
// conversions, random fills, column sums, centring and Hilbert order (kernels/cloud,
// kernels/random), for float and double.
#include "cloud/apply_matrix.hpp"
#include "cloud/center.hpp"
#include "cloud/column_sums.hpp"
#include "cloud/gather.hpp"
#include "cloud/lincomb.hpp"
#include "cloud/row_sqdist.hpp"
#include "cloud/spatial_order.hpp"
#include "cuda/launch.cuh"
#include "random/fill.hpp"

using namespace flowsampler::kernels;

#define FLOWSAMPLER_LINCOMBS(Real)                                                                   \
  FLOWSAMPLER_CUDA_FOR_EACH(Lincomb<Real, 0>) FLOWSAMPLER_CUDA_FOR_EACH(Lincomb<Real, 1>)           \
  FLOWSAMPLER_CUDA_FOR_EACH(Lincomb<Real, 2>) FLOWSAMPLER_CUDA_FOR_EACH(Lincomb<Real, 3>)           \
  FLOWSAMPLER_CUDA_FOR_EACH(Lincomb<Real, 4>) FLOWSAMPLER_CUDA_FOR_EACH(Lincomb<Real, 5>)           \
  FLOWSAMPLER_CUDA_FOR_EACH(Lincomb<Real, 6>) FLOWSAMPLER_CUDA_FOR_EACH(Lincomb<Real, 7>)           \
  FLOWSAMPLER_CUDA_FOR_EACH(Lincomb<Real, 8>)
FLOWSAMPLER_LINCOMBS(float)
FLOWSAMPLER_LINCOMBS(double)

FLOWSAMPLER_CUDA_FOR_EACH(Fill<float>)
FLOWSAMPLER_CUDA_FOR_EACH(Fill<double>)
FLOWSAMPLER_CUDA_FOR_EACH(Fill<unsigned>)
FLOWSAMPLER_CUDA_FOR_EACH(Convert<float, double>)
FLOWSAMPLER_CUDA_FOR_EACH(Convert<double, float>)
FLOWSAMPLER_CUDA_FOR_EACH(Convert<double, double>)  // Real = double callers widen with the same functor
FLOWSAMPLER_CUDA_FOR_EACH(RandomFill<float>)
FLOWSAMPLER_CUDA_FOR_EACH(RandomFill<double>)
FLOWSAMPLER_CUDA_FOR_EACH(CenterRows<float>)
FLOWSAMPLER_CUDA_FOR_EACH(CenterRows<double>)
FLOWSAMPLER_CUDA_REDUCE(ColumnSums<float>)
FLOWSAMPLER_CUDA_REDUCE(ColumnSums<double>)
FLOWSAMPLER_CUDA_REDUCE(RowSqDist<float, false>)
FLOWSAMPLER_CUDA_REDUCE(RowSqDist<float, true>)
FLOWSAMPLER_CUDA_REDUCE(RowSqDist<double, false>)
FLOWSAMPLER_CUDA_REDUCE(RowSqDist<double, true>)
FLOWSAMPLER_CUDA_FOR_EACH(ApplyMatrix<float>)
FLOWSAMPLER_CUDA_FOR_EACH(ApplyMatrix<double>)
FLOWSAMPLER_CUDA_FOR_EACH(StridedRows<float>)
FLOWSAMPLER_CUDA_FOR_EACH(StridedRows<double>)
FLOWSAMPLER_CUDA_FOR_EACH(GatherRows<float>)
FLOWSAMPLER_CUDA_FOR_EACH(GatherRows<double>)
FLOWSAMPLER_CUDA_FOR_EACH(HilbertKeys<float>)
FLOWSAMPLER_CUDA_FOR_EACH(HilbertKeys<double>)
FLOWSAMPLER_CUDA_FOR_EACH(RowsByKey<float, false>)
FLOWSAMPLER_CUDA_FOR_EACH(RowsByKey<double, false>)
FLOWSAMPLER_CUDA_FOR_EACH(RowsByKey<float, true>)
FLOWSAMPLER_CUDA_FOR_EACH(RowsByKey<double, true>)

// The integrators' kernels.
#include "integrate/stages.hpp"
#define FLOWSAMPLER_INTEGRATE(Real)                                                                  \
  FLOWSAMPLER_CUDA_FOR_EACH(AddDivergences<Real, 1>) FLOWSAMPLER_CUDA_FOR_EACH(AddDivergences<Real, 2>) \
  FLOWSAMPLER_CUDA_FOR_EACH(AddDivergences<Real, 4>) FLOWSAMPLER_CUDA_FOR_EACH(AddDivergences<Real, 6>) \
  FLOWSAMPLER_CUDA_REDUCE(DopriError<Real, false>) FLOWSAMPLER_CUDA_REDUCE(DopriError<Real, true>)      \
  FLOWSAMPLER_CUDA_REDUCE(ScaledSquares<Real>) FLOWSAMPLER_CUDA_REDUCE(RowNorms2<Real>)
FLOWSAMPLER_INTEGRATE(float)
FLOWSAMPLER_INTEGRATE(double)
