#pragma once
// Whole-cloud helpers shared by the JKO flow (flow.cpp) and the JKO flow
// model (model.cpp), run on the context's backend (kernels/jko/rows.hpp).
#include <cmath>

#include "core/launch.hpp"
#include "flowsampler/core/particle_set.hpp"
#include "jko/iterate.hpp"
#include "jko/rows.hpp"

namespace flowsampler::jko::ops {

using flowsampler::detail::for_each;
using flowsampler::detail::reduce;

/// y + c g, computed in double and rounded once.
template <class Real>
ParticleSet<Real> add_scaled(const Context& ctx, const ParticleSet<Real>& y, double c, const ParticleSet<Real>& g) {
  ParticleSet<Real> out(ctx, y.n(), y.d());
  for_each(ctx, out.size(), kernels::AddScaled<Real>{out.data(), y.data(), g.data(), c});
  return out;
}

/// Every (n/m)-th particle of x, at most m of them.
template <class Real>
ParticleSet<Real> strided(const Context& ctx, const ParticleSet<Real>& x, std::size_t m) {
  if (m >= x.n()) return x.copy(ctx);
  return strided_rows(ctx, x, m);
}

/// sqrt(mean_i |a_i - b_i|^2) and, when asked, max_i |a_i - b_i| (two scalar reads).
template <class Real>
double rms_difference(const Context& ctx, const ParticleSet<Real>& a, const ParticleSet<Real>& b, double* max = nullptr) {
  const std::size_t n = a.n(), d = a.d();
  const double s = reduce(ctx, n, 2, kernels::RowSqDist<Real, false>{a.data(), b.data(), n, d})[0];
  if (max) *max = n ? std::sqrt(reduce(ctx, n, 1, kernels::RowSqDist<Real, true>{a.data(), b.data(), n, d})[0]) : 0.0;
  return std::sqrt(s / double(n));
}

}  // namespace flowsampler::jko::ops
