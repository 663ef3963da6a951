#pragma once
// Per-lane storage used by the pairwise engine. `Lane<T, N>` is a fixed-size
// array that lives in registers (the compile-time-d path); `Strided<T>` views
// memory with a stride (the runtime-d path, and column-major particle data).
// Both are read and written as a(k), so one op body serves both paths.
#include <cstddef>

#include "hd.hpp"

namespace flowsampler::kernels {

template <class T, int N>
struct Lane {
  T v[N];
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE T& operator()(int k) { return v[k]; }
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE const T& operator()(int k) const { return v[k]; }
};

template <class T>
struct Strided {
  T* p;
  std::size_t stride;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE T& operator()(int k) const { return p[static_cast<std::size_t>(k) * stride]; }
};

/// The dimension a loop runs to: the compile-time D when it is set, else d.
template <int D>
FLOWSAMPLER_HD constexpr int dim(int d) {
  return D > 0 ? D : d;
}

/// |x - y|^2 with x an accessor and y a plain row.
template <int D, class Real, class X>
FLOWSAMPLER_HD FLOWSAMPLER_INLINE Real sqdist(const X& x, const Real* y, int d) {
  Real s = 0;
  FLOWSAMPLER_UNROLL for (int k = 0; k < dim<D>(d); ++k) {
    const Real t = x(k) - y[k];
    s += t * t;
  }
  return s;
}

}  // namespace flowsampler::kernels
