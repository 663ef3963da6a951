#pragma once
// Whole-cloud linear combinations, the vector operation the integrators and
// the drift fields are made of: scale z + sum_j c_j k_j in one fused pass.
#include <initializer_list>
#include <type_traits>
#include <utility>
#include <vector>

#include "flowsampler/core/context.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/core/particle_set.hpp"

namespace flowsampler::detail {

template <class Real>
using Term = std::pair<double, const ParticleSet<Real>*>;

// o = cb base + sum_j c[J] k[J], elementwise, J = 0..M-1.
template <class Real, std::size_t... J>
void sweep_terms(int threads, long long total, Real cb, const Real* base, Real* o, const Real* const* k, const Real* c,
                 std::index_sequence<J...>) {
  [[maybe_unused]] const Real* const kk[sizeof...(J) + 1] = {k[J]..., nullptr};
  [[maybe_unused]] const Real cc[sizeof...(J) + 1] = {c[J]..., Real(0)};
  if (cb == Real(1)) {  // the integrators' case: no multiply on the base
#pragma omp parallel for simd num_threads(threads) if (total > 65536)
    for (long long e = 0; e < total; ++e) o[e] = (base[e] + ... + (cc[J] * kk[J][e]));
    return;
  }
#pragma omp parallel for simd num_threads(threads) if (total > 65536)
  for (long long e = 0; e < total; ++e) o[e] = ((cb * base[e]) + ... + (cc[J] * kk[J][e]));
}

// scale z + sum_j c_j k_j in one pass (terms with c_j = 0 are skipped). Device
// sets round-trip through the host for now: no device kernel is written yet.
template <class Real>
ParticleSet<Real> lincomb(const Context& ctx, const ParticleSet<Real>& z, std::initializer_list<Term<Real>> terms,
                          double scale = 1.0) {
  constexpr int max_terms = 8;
  FLOWSAMPLER_EXPECTS(terms.size() <= max_terms, "lincomb: at most " << max_terms << " terms");
  const Real* k[max_terms];
  Real c[max_terms];
  int m = 0;
  std::vector<std::vector<Real>> staged;  // host copies of device terms
  staged.reserve(terms.size() + 1);
  auto host_ptr = [&](const ParticleSet<Real>& s) -> const Real* {
    if (s.memory() == Memory::host) return s.data();
    staged.push_back(s.to_host());
    return staged.back().data();
  };
  for (const Term<Real>& t : terms) {
    if (t.first == 0) continue;
    FLOWSAMPLER_EXPECTS(t.second->n() == z.n() && t.second->d() == z.d(), "lincomb: shape mismatch");
    k[m] = host_ptr(*t.second);
    c[m] = static_cast<Real>(t.first);
    ++m;
  }
  const Real* base = host_ptr(z);
  std::vector<Real> out_host;
  ParticleSet<Real> out;
  Real* o;
  if (z.memory() == Memory::host) {
    out = ParticleSet<Real>(z.n(), z.d(), Memory::host);
    o = out.data();
  } else {
    out_host.resize(z.size());
    o = out_host.data();
  }
  const long long total = static_cast<long long>(z.size());
  // The term count as a constant and the sum as a fold over named terms, so
  // that the loop vectorizes with plain loads (a loop over the terms inside
  // makes GCC vectorize the outer loop with gathers).
  auto sweep = [&, base, o](auto terms) {
    sweep_terms(ctx.threads(), total, static_cast<Real>(scale), base, o, k, c, terms);
  };
  switch (m) {
    case 0: sweep(std::make_index_sequence<0>{}); break;
    case 1: sweep(std::make_index_sequence<1>{}); break;
    case 2: sweep(std::make_index_sequence<2>{}); break;
    case 3: sweep(std::make_index_sequence<3>{}); break;
    case 4: sweep(std::make_index_sequence<4>{}); break;
    case 5: sweep(std::make_index_sequence<5>{}); break;
    case 6: sweep(std::make_index_sequence<6>{}); break;
    case 7: sweep(std::make_index_sequence<7>{}); break;
    default: sweep(std::make_index_sequence<8>{}); break;
  }
  if (z.memory() != Memory::host) out = ParticleSet<Real>::from_column_major(ctx, out_host.data(), z.n(), z.d());
  return out;
}

}  // namespace flowsampler::detail
