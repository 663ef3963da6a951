// The reverse SDE (Euler-Maruyama) and the Langevin corrector.
#include <cmath>
#include <utility>

#include "flowsampler/core/error.hpp"
#include "flowsampler/core/random.hpp"
#include "flowsampler/integrate/integrate.hpp"
#include "integrate/cloud_ops.hpp"

namespace flowsampler::integrate {

namespace {

// Mean over particles of the Euclidean norms of the rows of a and of b: one
// reduction, one scalar read.
template <class Real>
std::pair<double, double> mean_row_norms(const Context& ctx, const ParticleSet<Real>& a, const ParticleSet<Real>& b,
                                         const Communicator* comm) {
  auto s = flowsampler::detail::reduce(ctx, a.n(), 2, kernels::RowNorms2<Real>{a.data(), b.data(), a.n(), static_cast<int>(a.d())});
  s.push_back(static_cast<double>(a.n()));
  s = detail::cloud_sums(comm, s);
  return {s[0] / s[2], s[1] / s[2]};
}

}  // namespace

template <class Real>
long long langevin_correct(Context& ctx, const fields::Field<Real>& field, ParticleSet<Real>& z, double t, int steps,
                           double snr, const Communicator* comm) {
  FLOWSAMPLER_EXPECTS(steps >= 0, "langevin: steps must be >= 0, got " << steps);
  FLOWSAMPLER_EXPECTS(std::isfinite(snr) && snr > 0, "langevin: snr must be > 0, got " << snr);
  fields::FieldRequest req;
  req.score = true;
  field.require(req, "the Langevin corrector");
  ParticleSet<Real> xi(ctx, z.n(), z.d());
  xi.set_first_row(z.first_row());
  for (int s = 0; s < steps; ++s) {
    const auto score = field.evaluate(ctx, t, z, req).score;
    fill_normal(ctx, xi);
    const auto [g, nn] = mean_row_norms(ctx, score, xi, comm);
    if (!(g > 0)) break;  // at a critical point of log p for every particle: nothing to correct
    const double eps = 2 * (snr * nn / g) * (snr * nn / g);
    detail::lincomb_into(ctx, z, z, {{eps, &score}, {std::sqrt(2 * eps), &xi}});
  }
  return steps;
}

template <class Real>
Report integrate_sde(Context& ctx, const fields::Field<Real>& field, ParticleSet<Real>& z,
                     const std::vector<double>& grid, const SdeOptions& o, const Options<Real>& options) {
  FLOWSAMPLER_EXPECTS(std::isfinite(o.eta) && o.eta >= 0, "sde: eta must be finite and >= 0, got " << o.eta);
  FLOWSAMPLER_EXPECTS(options.log_density == nullptr, "sde: no log-likelihood along a stochastic path; use an ODE method");
  fields::FieldRequest needs;
  needs.velocity = true;
  needs.score = true;
  field.require(needs, "the reverse SDE");
  const paths::Path& path = *field.path();
  validate_grid(grid, path);
  FLOWSAMPLER_EXPECTS(field.dim() == 0 || z.d() == field.dim(), "sde: particles have d = " << z.d() << ", the field d = " << field.dim());
  Report r;
  ParticleSet<Real> noise(ctx, z.n(), z.d());
  noise.set_first_row(z.first_row());
  const std::vector<char> notify = detail::step_notices(options, grid.size() - 1);
  for (std::size_t k = 0; k + 1 < grid.size(); ++k) {
    const double t = grid[k], h = grid[k + 1] - grid[k];
    const auto p = path.at(t);
    FLOWSAMPLER_EXPECTS(o.eta == 0 || p.a != 0, "sde: a(t) = 0 at t = " << t
                                                    << ", where g^2 = 2 eta |b b' - b^2 a'/a| is infinite; start later "
                                                       "or use the vp path with a finite horizon");
    const double g2 = o.eta == 0 ? 0.0 : 2 * o.eta * std::fabs(p.b_db - p.b * p.b * p.da / p.a);
    fields::FieldRequest req;
    req.velocity = true;
    req.score = g2 > 0;
    ++r.nfe;
    auto f = field.evaluate(ctx, t, z, req);
    if (g2 > 0) fill_normal(ctx, noise);
    detail::lincomb_into(ctx, z, z, {{h, &f.velocity}, {0.5 * g2 * h, &f.score}, {std::sqrt(g2 * std::fabs(h)), &noise}});
    r.nfe += langevin_correct(ctx, field, z, grid[k + 1], o.langevin_steps, o.langevin_snr, options.comm);
    ++r.steps;
    if (notify[k]) options.on_step(static_cast<int>(k), grid[k + 1], z);
  }
  return r;
}

#define FLOWSAMPLER_INSTANTIATE(Real)                                                                            \
  template Report integrate_sde<Real>(Context&, const fields::Field<Real>&, ParticleSet<Real>&,                   \
                                      const std::vector<double>&, const SdeOptions&, const Options<Real>&);       \
  template long long langevin_correct<Real>(Context&, const fields::Field<Real>&, ParticleSet<Real>&, double, int, \
                                            double, const Communicator*);
FLOWSAMPLER_INSTANTIATE(float)
FLOWSAMPLER_INSTANTIATE(double)
#undef FLOWSAMPLER_INSTANTIATE

}  // namespace flowsampler::integrate
