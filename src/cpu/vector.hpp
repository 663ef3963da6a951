#pragma once
// Explicit vectors of lanes (GCC/Clang vector extensions) for the CPU's wide
// tiles (cpu/distance_tile.hpp), and exp on a whole vector.
//
// Why not `#pragma omp simd` loops: GCC 12's outer-loop vectorizer left the
// runtime-d versions of the distance GEMM scalar (d = 128 ran at 0.04 of the
// FMA limit against 0.4 at the compile-time d = 64), and a lane loop over a
// register block's exps, fused after the GEMM, came out slower than the two
// passes it replaced.
//
// exp_nonpositive(x) equals fast_exp(x) (math/fast_exp.hpp) bit for bit
// where x <= 0, which is every exp the vector paths take (Gaussian weights,
// shifted softmax logits): the same reduction and polynomial
// (detail::exp_core_float/double), then 2^n applied by one vscalef where
// AVX-512 has it, else by one exponent field and a constant; both round once,
// as the scalar code's two exponent fields do, so normal and subnormal
// results agree (tests/pairwise/test_pairwise_wide.cpp checks every float
// exponent range).
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#if defined(__AVX__)
#include <immintrin.h>
#endif

#include "hd.hpp"
#include "math/fast_exp.hpp"

namespace flowsampler::cpu::detail {

#if defined(__AVX512F__)
constexpr int vector_bytes = 64;
#elif defined(__AVX__)
constexpr int vector_bytes = 32;
#else
constexpr int vector_bytes = 16;
#endif
template <class Real>
constexpr std::size_t lanes_per_vector = vector_bytes / sizeof(Real);
#if defined(__AVX512F__)
constexpr int vector_registers = 32;
#else
constexpr int vector_registers = 16;  // AVX2, SSE, NEON's 32 counted low
#endif

template <class Real>
struct VectorOf;
template <>
struct VectorOf<float> {
  typedef float type __attribute__((vector_size(vector_bytes)));
  typedef std::int32_t bits __attribute__((vector_size(vector_bytes)));
};
template <>
struct VectorOf<double> {
  typedef double type __attribute__((vector_size(vector_bytes)));
  typedef std::int64_t bits __attribute__((vector_size(vector_bytes)));
};
template <class Real>
using Vec = typename VectorOf<Real>::type;
template <class Real>
using VecBits = typename VectorOf<Real>::bits;

template <class Real>
FLOWSAMPLER_INLINE Vec<Real> load(const Real* p) {
  Vec<Real> v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
template <class Real>
FLOWSAMPLER_INLINE void store(Real* p, Vec<Real> v) {
  __builtin_memcpy(p, &v, sizeof v);
}
/// v, pinned to a register: GCC folds a vector's load into every FMA that
/// reads it, and under AVX2 (no embedded broadcasts; two 256-bit loads a
/// cycle on Zen 3) that leaves a register block waiting on loads (the d = 32
/// mean shift ran ~20% faster with its weights pinned). A no-op elsewhere.
template <class V>
FLOWSAMPLER_INLINE V in_register(V v) {
#if defined(__AVX__) && !defined(__AVX512F__)
  asm("" : "+x"(v));
#endif
  return v;
}

/// How many vectors of lanes the d <= 8 register paths take down a tile at
/// once: two (independent chains to hide the exps' latency) under AVX-512,
/// and under AVX2 where their `state` vectors per lane vector (x, sums) fit
/// twice in its 16 registers beside the exps' temporaries, else one (d = 8
/// on a Zen 3: the Gaussian sum 1.1e9 -> 1.25e9-1.33e9 pairs/s, the mean
/// shift 0.75e9 -> 0.81e9-0.93e9).
template <int state>
constexpr int lane_vectors = vector_registers == 32 || 2 * state + 8 <= vector_registers ? 2 : 1;

/// H vectors of lanes of each of D columns (column k at x + k * stride),
/// from `count` <= H W lanes; the lanes past count 0.
template <int D, int H, class Real>
FLOWSAMPLER_INLINE void load_lanes(const Real* x, std::size_t stride, std::size_t count, Vec<Real> (&xv)[H][D]) {
  constexpr std::size_t W = lanes_per_vector<Real>;
  for (int k = 0; k < D; ++k) {
    Real in[H * W] = {};
    for (std::size_t l = 0; l < count; ++l) in[l] = x[static_cast<std::size_t>(k) * stride + l];
    for (int h = 0; h < H; ++h) xv[h][k] = load(in + static_cast<std::size_t>(h) * W);
  }
}

/// |x - y|^2 on each lane: x the lanes' D coordinates, y one row (the
/// scalar kernels::sqdist's steps, so the same bits).
template <int D, class Real>
FLOWSAMPLER_INLINE Vec<Real> sqdist_lanes(const Vec<Real> (&x)[D], const Real* y) {
  Vec<Real> s{};
  for (int k = 0; k < D; ++k) {
    const Vec<Real> t = x[k] - y[k];
    s += t * t;
  }
  return s;
}

/// A displacement op's value at coordinate k on each lane (kernels::PairValue::
/// displacement): offset_k + coef (x_k - y_k).
template <class Op, class Real>
FLOWSAMPLER_INLINE Vec<Real> displacement_lanes(const Op& o, Vec<Real> x_k, const Real* y, const Real* py, int k) {
  const Real offset = Op::offset_in_payload ? py[k] : Real(0);
  return offset + (x_k - y[k]) * o.displacement_coef();
}

/// Whether any lane of a comparison's result is set: one test instruction
/// under AVX-512 or AVX (GCC 12 turns the lane loop into a chain of extracts).
template <class Mask>
FLOWSAMPLER_INLINE bool any_lane(Mask m) {
#if defined(__AVX512F__)
  if constexpr (sizeof(m[0]) == 4) return _mm512_test_epi32_mask(reinterpret_cast<__m512i>(m), reinterpret_cast<__m512i>(m)) != 0;
  if constexpr (sizeof(m[0]) == 8) return _mm512_test_epi64_mask(reinterpret_cast<__m512i>(m), reinterpret_cast<__m512i>(m)) != 0;
#elif defined(__AVX__)
  if constexpr (sizeof m == 32) return !_mm256_testz_si256(reinterpret_cast<__m256i>(m), reinterpret_cast<__m256i>(m));
#endif
  bool any = false;
  for (std::size_t e = 0; e < sizeof m / sizeof m[0]; ++e) any |= m[e] != 0;
  return any;
}

template <class To, class From>
FLOWSAMPLER_INLINE To vector_cast(From v) {
  static_assert(sizeof(To) == sizeof(From), "same width");
  To t;
  __builtin_memcpy(&t, &v, sizeof t);
  return t;
}

template <class Real>
struct ExpBits;
template <>
struct ExpBits<float> {
  static constexpr std::int32_t magic = static_cast<std::int32_t>(kernels::detail::magic_bits_f), bias = 127, shift = 23;
  static constexpr float low = -104.0f;  // fast_exp's range: 0 below
};
template <>
struct ExpBits<double> {
  static constexpr std::int64_t magic = static_cast<std::int64_t>(kernels::detail::magic_bits_d), bias = 1023,
                                shift = 52;
  static constexpr double low = -746.0;
};

#if defined(__AVX512F__)
/// p 2^nf in one instruction (nf an integer in floating point). The masked
/// form with every lane set: the plain one's undefined pass-through trips
/// GCC 12's -Wmaybe-uninitialized.
FLOWSAMPLER_INLINE Vec<float> scale_by_scalef(Vec<float> p, Vec<float> nf) {
  return _mm512_mask_scalef_ps(p, static_cast<__mmask16>(-1), p, nf);
}
FLOWSAMPLER_INLINE Vec<double> scale_by_scalef(Vec<double> p, Vec<double> nf) {
  return _mm512_mask_scalef_pd(p, static_cast<__mmask8>(-1), p, nf);
}
#endif

template <class Real>
constexpr Real magic = sizeof(Real) == 4 ? Real(kernels::detail::magic_f) : Real(kernels::detail::magic_d);

/// N vectors that take each arithmetic step together: exp_core_float/double
/// on a Batch runs every step across the N vectors before the next, so that
/// N independent exp chains sit side by side in program order. GCC does not
/// schedule instructions before register allocation on x86, and an exp is a
/// chain of ~15 dependent steps: written one after the other, a few chains
/// fill the out-of-order window (Zen 2's FP scheduler holds 36 ops) and the
/// next waits (same-run probe, Zen 2, d = 3 float Gaussian sum: the weights
/// of two lane vectors as one batch, 2.26e9 -> 2.64e9 pairs/s).
template <class V, int N>
struct Batch {
  V v[N];
};
#define FLOWSAMPLER_BATCH_OP(op)                                                            \
  template <class V, int N>                                                                \
  FLOWSAMPLER_INLINE Batch<V, N> operator op(const Batch<V, N>& a, const Batch<V, N>& b) { \
    Batch<V, N> c;                                                                         \
    for (int i = 0; i < N; ++i) c.v[i] = a.v[i] op b.v[i];                                 \
    return c;                                                                              \
  }                                                                                        \
  template <class V, int N, class S, class = std::enable_if_t<std::is_arithmetic_v<S>>>    \
  FLOWSAMPLER_INLINE Batch<V, N> operator op(const Batch<V, N>& a, S b) {                  \
    Batch<V, N> c;                                                                         \
    for (int i = 0; i < N; ++i) c.v[i] = a.v[i] op b;                                      \
    return c;                                                                              \
  }
FLOWSAMPLER_BATCH_OP(+)
FLOWSAMPLER_BATCH_OP(-)
FLOWSAMPLER_BATCH_OP(*)
#undef FLOWSAMPLER_BATCH_OP

/// fast_exp on every lane of N vectors of x <= 0 (or NaN), in place, bit for
/// bit, for the Gaussian kernels' weights exp(-r2 / (2 h^2)) and the shifted
/// softmax logits: n <= 0 there, so 2^n is one exponent field, 2^(n + K),
/// times the constant 2^-K. The first product is exact and the second
/// rounds once, as fast_exp's p 2^n1 2^n2 does, to the same (possibly
/// subnormal) number; and no overflow select. Under AVX2 (no vscalef) that
/// is 6 vector instructions for 2^n and the range, not 13 (Zen 2 probe, 2
/// threads: the float Gaussian sum at d = 3 1.7e9 -> 2.2e9 pairs/s).
template <class Real, int N>
FLOWSAMPLER_INLINE void exp_nonpositive(Vec<Real> (&x)[N]) {
  using B = ExpBits<Real>;
  Batch<Vec<Real>, N> xb, t;
  for (int i = 0; i < N; ++i) xb.v[i] = x[i];
  Batch<Vec<Real>, N> p;
  if constexpr (sizeof(Real) == 4) p = kernels::detail::exp_core_float(xb, t);
  else p = kernels::detail::exp_core_double(xb, t);
  for (int i = 0; i < N; ++i) {
#if defined(__AVX512F__)
    const Vec<Real> r = scale_by_scalef(p.v[i], t.v[i] - magic<Real>);
#else
    // K keeps n + K a normal exponent down to fast_exp's low cut (n >= -150
    // float, -1076 double) and p 2^(n + K) finite.
    constexpr int K = sizeof(Real) == 4 ? 64 : 128;
    constexpr Real down = sizeof(Real) == 4 ? Real(0x1p-64) : Real(0x1p-128);
    const Vec<Real> s =
        vector_cast<Vec<Real>>((vector_cast<VecBits<Real>>(t.v[i]) - (B::magic - (B::bias + K))) << B::shift);
    const Vec<Real> r = p.v[i] * s * down;
#endif
    x[i] = xb.v[i] < B::low ? Vec<Real>{} : r;
  }
}

}  // namespace flowsampler::cpu::detail
