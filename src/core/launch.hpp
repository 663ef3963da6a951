#pragma once
// Typed entry points to the backend table (core/device.hpp): library code
// writes a kernel body once, as a functor of kernels/ (FLOWSAMPLER_HD), and
//   for_each(ctx, n, f)          runs f(i) for every i < n,
//   reduce(ctx, n, width, f)     folds f(i, acc) over i < n and returns the
//                                `width` doubles to the host (a scalar read),
//   gemm(ctx, ...), sort_segments(ctx, ...)
// on whatever backend ctx has. Every functor used here must also be named in
// a CUDA instantiation unit (src/cuda/*_kernels.cu): a CUDA build that lacks
// one fails to link, so a kernel cannot silently miss its device version.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "core/device.hpp"
#include "core/parallel.hpp"
#include "flowsampler/core/error.hpp"
#include "reduce/fold.hpp"

namespace flowsampler::cuda {
template <class F>
void for_each(Handles* h, const void* f, std::size_t n);
template <class F>
void reduce(Handles* h, const void* f, std::size_t n, int width, bool max, double* scratch);
}  // namespace flowsampler::cuda

namespace flowsampler::detail {

// ---- for_each ----

template <class F>
void host_for_each(const void* pf, std::size_t n, int threads) {
  const long long nn = static_cast<long long>(n);
  // Each thread takes its own copy of the functor: a copy shared with the
  // team lives in memory the loop's stores might alias, so GCC reloaded its
  // coefficients on every element and did not vectorize (a heun step's stage
  // combinations ran at one float per cycle).
#pragma omp parallel num_threads(threads) if (nn >= parallel_min_elements)
  {
    const F f = *static_cast<const F*>(pf);
#pragma omp for simd schedule(static)
    for (long long i = 0; i < nn; ++i) f(static_cast<std::size_t>(i));
  }
}

template <class F>
constexpr auto cuda_for_each_entry() {
#ifdef FLOWSAMPLER_HAVE_CUDA
  return &cuda::for_each<F>;
#else
  return static_cast<void (*)(cuda::Handles*, const void*, std::size_t)>(nullptr);
#endif
}

/// Runs f(i) for i < n on ctx's backend, in order with the context's other work.
template <class F>
void for_each(const Context& ctx, std::size_t n, const F& f) {
  if (n == 0) return;
  device_of(ctx).for_each(ForEach{&host_for_each<F>, cuda_for_each_entry<F>(), &f, n});
}

// ---- reduce ----

using kernels::fold_identity;
using kernels::fold_merge;

// Fixed chunks summed in index order, then the chunk partials in order: the
// result does not depend on the thread count.
template <class F>
void host_reduce(const void* pf, std::size_t n, int width, bool max, int threads, double* out) {
  const F f = *static_cast<const F*>(pf);
  const std::size_t chunks = (n + reduce_chunk - 1) / reduce_chunk;
  std::vector<double> partial(chunks * static_cast<std::size_t>(width));
  const long long nc = static_cast<long long>(chunks);
#pragma omp parallel for num_threads(threads) schedule(static) if (n >= parallel_min_elements && chunks > 1)
  for (long long c = 0; c < nc; ++c) {
    double acc[reduce_max_width];
    for (int k = 0; k < width; ++k) acc[k] = fold_identity(max);
    const std::size_t end = std::min(n, static_cast<std::size_t>(c + 1) * reduce_chunk);
    for (std::size_t i = static_cast<std::size_t>(c) * reduce_chunk; i < end; ++i) f(i, acc);
    std::copy(acc, acc + width, partial.begin() + c * width);
  }
  for (int k = 0; k < width; ++k) out[k] = fold_identity(max);
  for (std::size_t c = 0; c < chunks; ++c)
    for (int k = 0; k < width; ++k) out[k] = fold_merge(out[k], partial[c * width + k], max);
}

template <class F>
constexpr auto cuda_reduce_entry() {
#ifdef FLOWSAMPLER_HAVE_CUDA
  return &cuda::reduce<F>;
#else
  return static_cast<void (*)(cuda::Handles*, const void*, std::size_t, int, bool, double*)>(nullptr);
#endif
}

/// Folds f(i, acc) over i < n into `width` doubles (acc starts at 0, or at
/// -inf when F::max: f then keeps maxima) and returns them on the host: a
/// scalar read, one small download and one wait for the device.
template <class F>
std::vector<double> reduce(const Context& ctx, std::size_t n, int width, const F& f) {
  FLOWSAMPLER_EXPECTS(width >= 1 && width <= reduce_max_width, "reduce: width must be in [1, " << reduce_max_width << "]");
  std::vector<double> out(static_cast<std::size_t>(width), fold_identity(F::max));
  if (n == 0) return out;
  device_of(ctx).reduce(Reduce{&host_reduce<F>, cuda_reduce_entry<F>(), &f, n, width, F::max}, out.data());
  return out;
}

// ---- matrix work and sorting ----

/// C (m x n) = alpha op(A) op(B) + beta C, column-major, on ctx's backend
/// (OpenBLAS on the CPU, cuBLAS on the GPU).
template <class Real>
void gemm(const Context& ctx, bool trans_a, bool trans_b, int m, int n, int k, Real alpha, const Real* a, int lda,
          const Real* b, int ldb, Real beta, Real* c, int ldc) {
  if (m == 0 || n == 0) return;
  device_of(ctx).gemm(Gemm<Real>{trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc});
}

/// Sorts each of `segments` consecutive runs of `length` keys ascending (no NaN).
template <class Real>
void sort_segments(const Context& ctx, Real* keys, std::size_t segments, std::size_t length) {
  if (segments == 0 || length < 2) return;
  device_of(ctx).sort_segments(keys, segments, length);
}

}  // namespace flowsampler::detail
