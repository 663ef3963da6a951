#pragma once
// LSD radix sort of floating-point keys (8-bit digits), the sort the sliced
// distances spend their time in: O(n) per pass and 4 (float) or 8 (double)
// passes at most, each skipped when every key shares that digit.
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

namespace flowsampler::cpu {

template <class Real>
using SortKey = std::conditional_t<sizeof(Real) == 4, std::uint32_t, std::uint64_t>;

// Order-preserving map of IEEE floats to unsigned integers: negative numbers
// have all bits flipped, non-negative ones only the sign bit.
template <class Real>
SortKey<Real> to_key(Real x) {
  SortKey<Real> u;
  std::memcpy(&u, &x, sizeof u);
  constexpr SortKey<Real> sign = SortKey<Real>(1) << (8 * sizeof(Real) - 1);
  return (u & sign) ? ~u : (u | sign);
}

template <class Real>
Real from_key(SortKey<Real> u) {
  constexpr SortKey<Real> sign = SortKey<Real>(1) << (8 * sizeof(Real) - 1);
  u = (u & sign) ? (u & ~sign) : ~u;
  Real x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// Sorts values[0, n) ascending (no NaN), using `scratch` (resized as needed).
template <class Real>
void radix_sort(Real* values, std::size_t n, std::vector<SortKey<Real>>& scratch) {
  using Key = SortKey<Real>;
  if (n < 2) return;
  scratch.resize(2 * n);
  Key* a = scratch.data();
  Key* b = scratch.data() + n;
  for (std::size_t i = 0; i < n; ++i) a[i] = to_key(values[i]);
  for (unsigned shift = 0; shift < 8 * sizeof(Key); shift += 8) {
    std::size_t count[256] = {};
    for (std::size_t i = 0; i < n; ++i) ++count[(a[i] >> shift) & 0xff];
    if (count[(a[0] >> shift) & 0xff] == n) continue;  // one digit for all: the pass changes nothing
    std::size_t offset = 0;
    for (std::size_t& c : count) {
      const std::size_t here = c;
      c = offset;
      offset += here;
    }
    for (std::size_t i = 0; i < n; ++i) b[count[(a[i] >> shift) & 0xff]++] = a[i];
    std::swap(a, b);
  }
  for (std::size_t i = 0; i < n; ++i) values[i] = from_key<Real>(a[i]);
}

}  // namespace flowsampler::cpu
