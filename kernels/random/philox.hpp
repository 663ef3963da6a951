#pragma once
// Philox4x32-10 (Salmon et al., SC'11) and the transforms built on it. Shared by
// both backends so that the bits drawn depend on (key, counter) alone.
#include <cmath>
#include <cstdint>

#include "hd.hpp"

namespace flowsampler::kernels {

struct Philox4 {
  std::uint32_t v[4];
};

FLOWSAMPLER_HD inline std::uint32_t mulhilo32(std::uint32_t a, std::uint32_t b, std::uint32_t* hi) {
  const std::uint64_t p = static_cast<std::uint64_t>(a) * b;
  *hi = static_cast<std::uint32_t>(p >> 32);
  return static_cast<std::uint32_t>(p);
}

/// Ten rounds of Philox4x32 on counter `c` with key (k0, k1).
FLOWSAMPLER_HD inline Philox4 philox4x32_10(Philox4 c, std::uint32_t k0, std::uint32_t k1) {
  constexpr std::uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  constexpr std::uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int r = 0; r < 10; ++r) {
    std::uint32_t hi0, hi1;
    const std::uint32_t lo0 = mulhilo32(M0, c.v[0], &hi0);
    const std::uint32_t lo1 = mulhilo32(M1, c.v[2], &hi1);
    c = Philox4{{hi1 ^ c.v[1] ^ k0, lo1, hi0 ^ c.v[3] ^ k1, lo0}};
    k0 += W0;
    k1 += W1;
  }
  return c;
}

/// The stream of one particle: key = seed, counter = (i, draw, block).
/// `block` numbers the 128-bit blocks drawn for that particle in that draw.
FLOWSAMPLER_HD inline Philox4 particle_bits(std::uint64_t seed, std::uint64_t i, std::uint32_t draw,
                                            std::uint32_t block) {
  Philox4 c{{static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i >> 32), draw, block}};
  return philox4x32_10(c, static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
}

/// Uniform on (0, 1]: never 0, so -log(u) is finite.
template <class Real>
FLOWSAMPLER_HD inline Real uniform_open0(std::uint32_t lo, std::uint32_t hi);

template <>
FLOWSAMPLER_HD inline float uniform_open0<float>(std::uint32_t lo, std::uint32_t) {
  // 24 random bits -> (0, 1] in steps of 2^-24.
  return (static_cast<float>(lo >> 8) + 1.0f) * (1.0f / 16777216.0f);
}
template <>
FLOWSAMPLER_HD inline double uniform_open0<double>(std::uint32_t lo, std::uint32_t hi) {
  // 53 random bits -> (0, 1] in steps of 2^-53.
  const std::uint64_t bits = (static_cast<std::uint64_t>(hi) << 21) ^ (lo >> 11);
  return (static_cast<double>(bits) + 1.0) * (1.0 / 9007199254740992.0);
}

/// Values each 128-bit block yields: 4 floats or 2 doubles.
template <class Real>
constexpr unsigned per_block() { return sizeof(Real) == 4 ? 4u : 2u; }

/// Coordinate k of particle i, uniform on (0, 1].
template <class Real>
FLOWSAMPLER_HD inline Real uniform_coordinate(std::uint64_t seed, std::uint32_t draw, std::uint64_t i,
                                              std::uint32_t k) {
  constexpr unsigned P = per_block<Real>();
  const Philox4 b = particle_bits(seed, i, draw, k / P);
  const unsigned j = k % P;
  return P == 4 ? uniform_open0<Real>(b.v[j], 0) : uniform_open0<Real>(b.v[2 * j], b.v[2 * j + 1]);
}

/// Coordinate k of particle i, standard normal: Box–Muller on the pair of
/// uniforms (2m, 2m+1) of that particle, cos for even k and sin for odd k.
template <class Real>
FLOWSAMPLER_HD inline Real normal_coordinate(std::uint64_t seed, std::uint32_t draw, std::uint64_t i,
                                             std::uint32_t k) {
  const std::uint32_t k0 = k & ~1u;
  const Real u1 = uniform_coordinate<Real>(seed, draw, i, k0);
  const Real u2 = uniform_coordinate<Real>(seed, draw, i, k0 + 1);
  const Real r = std::sqrt(Real(-2) * std::log(u1));
  const Real angle = Real(6.283185307179586476925286766559) * u2;
  return (k & 1u) ? r * std::sin(angle) : r * std::cos(angle);
}

}  // namespace flowsampler::kernels
