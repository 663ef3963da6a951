#pragma once
// What the integrators add to the cloud operations of core/lincomb.hpp: the
// stage evaluation with the optional divergence, and the starting log-density.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/lincomb.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/fields/field.hpp"

namespace flowsampler::integrate::detail {

using flowsampler::detail::lincomb;
using flowsampler::detail::Term;

// One stage: the velocity and, when the log-density is tracked, -div v.
template <class Real>
struct Stage {
  ParticleSet<Real> v;
  std::vector<double> neg_div;
};

template <class Real>
Stage<Real> eval_stage(const Context& ctx, const fields::Field<Real>& field, double t, const ParticleSet<Real>& z,
                       bool track, long long& nfe) {
  ++nfe;
  fields::FieldRequest req;
  req.velocity = true;
  req.divergence = track;
  auto f = field.evaluate(ctx, t, z, req);
  Stage<Real> s;
  s.v = std::move(f.velocity);
  if (track) {
    const std::vector<Real> dv = f.divergence.to_host();
    s.neg_div.resize(dv.size());
    for (std::size_t i = 0; i < dv.size(); ++i) s.neg_div[i] = -static_cast<double>(dv[i]);
  }
  return s;
}

// The starting log-density for Options::log_density: the caller's values or
// the field's exact log p at t.
template <class Real>
void start_log_density(const Context& ctx, const fields::Field<Real>& field, double t, const ParticleSet<Real>& z,
                       std::vector<double>& ll) {
  if (!ll.empty()) {
    FLOWSAMPLER_EXPECTS(ll.size() == z.n(), "log_density: expected N = " << z.n() << " starting values or none, got "
                                                                          << ll.size());
    return;
  }
  fields::FieldRequest req;
  req.log_density = true;
  field.require(req, "the log-likelihood without starting values");
  const std::vector<Real> l0 = field.evaluate(ctx, t, z, req).log_density.to_host();
  ll.assign(l0.begin(), l0.end());
}

}  // namespace flowsampler::integrate::detail
