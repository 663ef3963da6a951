#pragma once
// What the integrators add to the cloud operations of core/lincomb.hpp: the
// stage evaluation with the optional divergence, the log-density update from
// the stages, and the starting log-density. Everything stays on the device.
#include <string>
#include <vector>

#include "cloud/lincomb.hpp"
#include "core/launch.hpp"
#include "core/lincomb.hpp"
#include "flowsampler/core/communicator.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/fields/field.hpp"
#include "integrate/stages.hpp"

namespace flowsampler::integrate::detail {

using flowsampler::detail::lincomb;
using flowsampler::detail::lincomb_into;
using flowsampler::detail::Term;

// Sums of a cloud that may be sharded over ranks: the ranks' partial sums
// added in rank order (the sums themselves for a whole cloud).
inline std::vector<double> cloud_sums(const Communicator* comm, std::vector<double> partial) {
  return comm ? comm->sum(partial) : partial;
}

// Per step of a grid of `steps` steps, whether on_step is called after it
// (Options::on_step_at: empty means every step; otherwise checked increasing
// and in range). All false without an on_step.
template <class Real>
std::vector<char> step_notices(const Options<Real>& o, std::size_t steps) {
  std::vector<char> at(steps, o.on_step && o.on_step_at.empty());
  if (!o.on_step) return at;
  int prev = -1;
  for (int k : o.on_step_at) {
    FLOWSAMPLER_EXPECTS(k > prev && static_cast<std::size_t>(k) < steps,
                        "on_step_at: expected increasing step indices in [0, " << steps << "), got " << k
                                                                               << (k <= prev ? " after " + std::to_string(prev) : ""));
    at[static_cast<std::size_t>(k)] = 1;
    prev = k;
  }
  return at;
}

// One stage: the velocity and, when the log-density is tracked, div v (N x 1).
template <class Real>
struct Stage {
  ParticleSet<Real> v, div;
};

template <class Real>
Stage<Real> eval_stage(const Context& ctx, const fields::Field<Real>& field, double t, const ParticleSet<Real>& z,
                       bool track, long long& nfe) {
  ++nfe;
  fields::FieldRequest req;
  req.velocity = true;
  req.divergence = track;
  auto f = field.evaluate(ctx, t, z, req);
  return Stage<Real>{std::move(f.velocity), std::move(f.divergence)};
}

// ll += scale * sum_j c_j (-div_j), one pass over the particles; M stages.
template <class Real, int M>
void add_divergences(const Context& ctx, ParticleSet<double>& ll, const Stage<Real>* k, const double* c, double scale) {
  kernels::AddDivergences<Real, M> f{ll.data(), {}, {}, scale};
  for (int j = 0; j < M; ++j) f.div[j] = k[j].div.data(), f.c[j] = c[j];
  flowsampler::detail::for_each(ctx, ll.n(), f);
}

// The starting log-density for Options::log_density: the caller's values
// (checked) or the field's exact log p at t, converted to double on the device.
template <class Real>
void start_log_density(const Context& ctx, const fields::Field<Real>& field, double t, const ParticleSet<Real>& z,
                       ParticleSet<double>& ll) {
  if (ll.n() != 0) {
    FLOWSAMPLER_EXPECTS(ll.n() == z.n() && ll.d() == 1, "log_density: expected N = " << z.n()
                                                            << " starting values (N x 1) or none, got " << ll.n() << " x " << ll.d());
    FLOWSAMPLER_EXPECTS(ll.belongs_to(ctx), "log_density: the starting values must live in the context's memory");
    return;
  }
  fields::FieldRequest req;
  req.log_density = true;
  field.require(req, "the log-likelihood without starting values");
  const ParticleSet<Real> l0 = field.evaluate(ctx, t, z, req).log_density;
  ll = ParticleSet<double>(ctx, z.n(), 1);
  flowsampler::detail::for_each(ctx, z.n(), kernels::Convert<double, Real>{ll.data(), l0.data()});
}

}  // namespace flowsampler::integrate::detail
