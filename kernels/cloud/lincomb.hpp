#pragma once
// The elementwise linear combination the integrators and drift fields are
// made of: out = cb base + sum_j c_j k_j over every coordinate of a cloud, in
// one pass. M (the number of terms) is a compile-time constant so that the
// sum is a fixed fold the CPU vectorizes with plain loads.
#include <cstddef>

#include "hd.hpp"

namespace flowsampler::kernels {

template <class Real, int M>
struct Lincomb {
  Real* out;
  const Real* base;
  Real cb;
  const Real* k[M > 0 ? M : 1];
  Real c[M > 0 ? M : 1];
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const {
    Real v = cb * base[e];
    FLOWSAMPLER_UNROLL for (int j = 0; j < M; ++j) v += c[j] * k[j][e];
    out[e] = v;
  }
};

/// out[e] = value.
template <class T>
struct Fill {
  T* out;
  T value;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const { out[e] = value; }
};

/// out[e] = static_cast<To>(in[e]) (precision changes of whole arrays).
template <class To, class From>
struct Convert {
  To* out;
  const From* in;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t e) const { out[e] = static_cast<To>(in[e]); }
};

}  // namespace flowsampler::kernels
