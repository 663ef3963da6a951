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

/// floor(n / 2) for the n of a double exp whose result is kept (|n| < 2048),
/// by an unsigned shift: AVX2 has no 64-bit arithmetic shift, and GCC's
/// emulation of n >> 1 cost its vector exps ~7%. Other n (whose results the
/// range selects replace) wrap without overflow.
FLOWSAMPLER_HD FLOWSAMPLER_INLINE std::int64_t half_floor(std::int64_t n) {
  return static_cast<std::int64_t>((static_cast<std::uint64_t>(n) + 2048u) >> 1) - 1024;
}

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
  // Cephes expf minimax polynomial on |r| <= ln2 / 2, by Estrin's scheme
  // (see exp_core_double).
  const V r2 = r * r;
  const V q0 = r * 1.6666665459e-1f + 5.0000001201e-1f, q1 = r * 8.3334519073e-3f + 4.1665795894e-2f,
          q2 = r * 1.9875691500e-4f + 1.3981999507e-3f;
  const V p = (q2 * r2 + q1) * r2 + q0;
  return p * r2 + r + 1.0f;
}

/// As exp_core_float, for double (V double or a host vector of doubles).
template <class V>
FLOWSAMPLER_HD FLOWSAMPLER_INLINE V exp_core_double(V x, V& t) {
  t = x * 1.4426950408889634074 + magic_d;
  const V nf = t - magic_d;
  V r = x - nf * 6.93145751953125E-1;
  r = r - nf * 1.42860682030941723212E-6;
  // e^r = 1 + r + r^2 p(r), p of degree 9 fitted to (e^r - 1 - r) / r^2 for
  // least maximal relative error of e^r on |r| <= ln2 / 2 (Lawson's weighted
  // minimax, in 40-digit arithmetic): 1.1e-17 (0.1 ulp) with the coefficients
  // as rounded here, two degrees below the Taylor series of like error.
  // Evaluated by Estrin's scheme: 4 dependent FMAs, not Horner's 9, for the
  // lane loops whose rate the exp's latency bounds rather than its
  // instruction count (same-run probes on a Zen 2, 2 threads: the double
  // Gaussian sum +7% at d = 64, the mean shift +4%; float +2-3%). The error
  // against long double exp: 1.06 ulp (Horner 1.02), float 1.03 (1.01).
  const V r2 = r * r, r4 = r2 * r2;
  const V q0 = r * 0x1.55555555554fap-3 + 0x1.000000000000ap-1, q1 = r * 0x1.1111111127be7p-7 + 0x1.555555555087bp-5,
          q2 = r * 0x1.a01a012a57af1p-13 + 0x1.6c16c1842a428p-10, q3 = r * 0x1.71df25516f306p-19 + 0x1.a0199a0bf0ecap-16,
          q4 = r * 0x1.ad7f71389c610p-26 + 0x1.28ad732fc110cp-22;
  const V p = ((q4 * r4 + (q3 * r2 + q2)) * r4) + (q1 * r2 + q0);
  return p * r2 + r + 1.0;
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
  const std::int64_t n1 = detail::half_floor(n), n2 = n - n1;
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
