#pragma once
// exp for the hot loops of both backends. On the host: Cody–Waite reduction
// x = n ln2 + r, a polynomial for e^r, and 2^n built from exponent bits by an
// integer add, all branch-free so that `#pragma omp simd` loops vectorize it
// inline (libmvec's call costs more than the polynomial). On the device: the
// ex2.approx based __expf for float and exp for double.
//
// Accuracy (tested in tests/math/test_fast_exp.cpp against long double exp
// over the whole input range): float within 2 ulp, double within 2 ulp, for
// normal results; subnormal results are exact to their absolute spacing;
// exp(-inf) = 0, exp(+inf) = +inf, exp(NaN) = NaN, overflow gives +inf.
#include <cstdint>
#include <cstring>

#include "hd.hpp"

namespace flowsampler::kernels {

namespace detail {
template <class To, class From>
FLOWSAMPLER_HD FLOWSAMPLER_INLINE To bit_cast(From v) {
  To t;
  std::memcpy(&t, &v, sizeof t);
  return t;
}

// Adding 1.5 * 2^23 (2^52) rounds to an integer in the low bits.
constexpr float magic_f = 12582912.0f;
constexpr double magic_d = 6755399441055744.0;
constexpr std::uint32_t magic_bits_f = 0x4B400000u;             // the bits of magic_f
constexpr std::uint64_t magic_bits_d = 0x4338000000000000ull;  // the bits of magic_d

/// The core both exps share: t = x log2(e) + magic, whose low bits hold
/// n = round(x / ln2), and the returned e^r, r = x - n ln2 (Cody–Waite in
/// two parts), so that e^x = e^r 2^n. V is float, or on the host a vector of
/// floats (cpu/vector.hpp), so that whole vectors take the same steps.
template <class V>
FLOWSAMPLER_HD FLOWSAMPLER_INLINE V exp_core_float(V x, V& t) {
  t = x * 1.44269504088896341f + magic_f;
  const V nf = t - magic_f;
  V r = x - nf * 0.693359375f;
  r = r - nf * -2.12194440e-4f;
  // Cephes expf minimax polynomial on |r| <= ln2 / 2.
  V p = r * 1.9875691500e-4f + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  return p * (r * r) + r + 1.0f;
}

/// As exp_core_float, for double (V double or a host vector of doubles).
template <class V>
FLOWSAMPLER_HD FLOWSAMPLER_INLINE V exp_core_double(V x, V& t) {
  t = x * 1.4426950408889634074 + magic_d;
  const V nf = t - magic_d;
  V r = x - nf * 6.93145751953125E-1;
  r = r - nf * 1.42860682030941723212E-6;
  // Taylor series to degree 13: remainder below 5e-18 on |r| <= ln2 / 2.
  V p = r * (1.0 / 6227020800.0) + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  return p * (r * r) + r + 1.0;
}
}  // namespace detail

FLOWSAMPLER_HD FLOWSAMPLER_INLINE float fast_exp(float x) {
#if defined(FLOWSAMPLER_ON_DEVICE)
  return __expf(x);
#else
  // No clamp ahead of the arithmetic: out-of-range x (and NaN) run through
  // it (unsigned integer steps, so nothing overflows) and the two selects at
  // the end give 0 and +inf; a NaN stays NaN through p. Clamping first made
  // GCC predicate every later step on the range mask (~8 more instructions
  // per vector in the pairwise loops).
  float t;
  const float p = detail::exp_core_float(x, t);
  const std::int32_t n = static_cast<std::int32_t>(detail::bit_cast<std::uint32_t>(t) - detail::magic_bits_f);
  // 2^n as 2^n1 * 2^n2 keeps both factors normal for n in [-150, 129].
  const std::int32_t n1 = n >> 1, n2 = n - n1;
  const float s1 = detail::bit_cast<float>(static_cast<std::uint32_t>(n1 + 127) << 23);
  const float s2 = detail::bit_cast<float>(static_cast<std::uint32_t>(n2 + 127) << 23);
  const float res = p * s1 * s2;
  return x < -104.0f ? 0.0f : (x > 89.0f ? __builtin_huge_valf() : res);
#endif
}

FLOWSAMPLER_HD FLOWSAMPLER_INLINE double fast_exp(double x) {
#if defined(FLOWSAMPLER_ON_DEVICE)
  return exp(x);
#else
  // As in the float version: no clamp ahead, the range handled at the end.
  double t;
  const double p = detail::exp_core_double(x, t);
  const std::int64_t n = static_cast<std::int64_t>(detail::bit_cast<std::uint64_t>(t) - detail::magic_bits_d);
  const std::int64_t n1 = n >> 1, n2 = n - n1;
  const double s1 = detail::bit_cast<double>(static_cast<std::uint64_t>(n1 + 1023) << 52);
  const double s2 = detail::bit_cast<double>(static_cast<std::uint64_t>(n2 + 1023) << 52);
  const double res = p * s1 * s2;
  return x < -746.0 ? 0.0 : (x > 710.0 ? __builtin_huge_val() : res);
#endif
}

/// exp for the softmax's shifted logits, x = logit - max <= 0 (x up to 88
/// for float, 709 for double, is still exact; past that the result is
/// undefined). Results below the smallest normal number are flushed to 0:
/// beside the max's own term, 1, they are below any float sum's rounding.
/// That lets 2^n be one exponent field (no split into two factors, no
/// overflow select): 17 vector instructions against fast_exp's 25.
/// Accuracy as fast_exp's (2 ulp) for x >= -87 (float) / -708 (double).
FLOWSAMPLER_HD FLOWSAMPLER_INLINE float fast_exp_shifted(float x) {
#if defined(FLOWSAMPLER_ON_DEVICE)
  return __expf(x);
#else
  float t;
  const float p = detail::exp_core_float(x, t);
  // t's bits less magic's are n; plus the bias, 2^n's exponent field.
  const float s = detail::bit_cast<float>((detail::bit_cast<std::uint32_t>(t) - (detail::magic_bits_f - 127u)) << 23);
  return x < -87.0f ? 0.0f : p * s;  // -inf to 0; NaN stays NaN through p
#endif
}

FLOWSAMPLER_HD FLOWSAMPLER_INLINE double fast_exp_shifted(double x) {
#if defined(FLOWSAMPLER_ON_DEVICE)
  return exp(x);
#else
  double t;
  const double p = detail::exp_core_double(x, t);
  const double s = detail::bit_cast<double>((detail::bit_cast<std::uint64_t>(t) - (detail::magic_bits_d - 1023u)) << 52);
  return x < -708.0 ? 0.0 : p * s;
#endif
}

}  // namespace flowsampler::kernels
