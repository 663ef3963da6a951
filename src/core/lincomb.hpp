#pragma once
// Whole-cloud linear combinations, the vector operation the integrators and
// the drift fields are made of: scale z + sum_j c_j k_j in one fused pass on
// the context's backend (kernels/cloud/lincomb.hpp).
#include <initializer_list>
#include <utility>

#include "cloud/lincomb.hpp"
#include "core/launch.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/core/particle_set.hpp"

namespace flowsampler::detail {

template <class Real>
using Term = std::pair<double, const ParticleSet<Real>*>;

constexpr int lincomb_max_terms = 8;

/// out = scale z + sum_j c_j k_j (terms with c_j = 0 are skipped); `out` may
/// be z or one of the terms (the pass is elementwise). out must be n x d.
template <class Real>
void lincomb_into(const Context& ctx, ParticleSet<Real>& out, const ParticleSet<Real>& z,
                  std::initializer_list<Term<Real>> terms, double scale = 1.0) {
  FLOWSAMPLER_EXPECTS(terms.size() <= lincomb_max_terms, "lincomb: at most " << lincomb_max_terms << " terms");
  FLOWSAMPLER_EXPECTS(out.n() == z.n() && out.d() == z.d(), "lincomb: output shape mismatch");
  const Real* k[lincomb_max_terms];
  Real c[lincomb_max_terms];
  int m = 0;
  for (const Term<Real>& t : terms) {
    if (t.first == 0) continue;
    FLOWSAMPLER_EXPECTS(t.second->n() == z.n() && t.second->d() == z.d(), "lincomb: shape mismatch");
    k[m] = t.second->data();
    c[m] = static_cast<Real>(t.first);
    ++m;
  }
  auto run = [&](auto terms_c) {
    constexpr int M = decltype(terms_c)::value;
    kernels::Lincomb<Real, M> f{out.data(), z.data(), static_cast<Real>(scale), {}, {}};
    for (int j = 0; j < M; ++j) f.k[j] = k[j], f.c[j] = c[j];
    for_each(ctx, z.size(), f);
  };
  switch (m) {
    case 0: run(std::integral_constant<int, 0>{}); break;
    case 1: run(std::integral_constant<int, 1>{}); break;
    case 2: run(std::integral_constant<int, 2>{}); break;
    case 3: run(std::integral_constant<int, 3>{}); break;
    case 4: run(std::integral_constant<int, 4>{}); break;
    case 5: run(std::integral_constant<int, 5>{}); break;
    case 6: run(std::integral_constant<int, 6>{}); break;
    case 7: run(std::integral_constant<int, 7>{}); break;
    default: run(std::integral_constant<int, 8>{}); break;
  }
}

/// A new set: scale z + sum_j c_j k_j.
template <class Real>
ParticleSet<Real> lincomb(const Context& ctx, const ParticleSet<Real>& z, std::initializer_list<Term<Real>> terms,
                          double scale = 1.0) {
  ParticleSet<Real> out(ctx, z.n(), z.d());
  lincomb_into(ctx, out, z, terms, scale);
  return out;
}

}  // namespace flowsampler::detail
