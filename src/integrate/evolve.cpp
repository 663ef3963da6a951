#include "flowsampler/integrate/evolve.hpp"

#include <cmath>

#include "flowsampler/core/error.hpp"
#include "flowsampler/metrics/mmd.hpp"
#include "flowsampler/metrics/moments.hpp"

namespace flowsampler::integrate {

template <class Real>
std::vector<EvolveRecord> evolve(const Context& ctx, const fields::Field<Real>& field, ParticleSet<Real>& z,
                                 const EvolveOptions& o, const ParticleSet<Real>* reference) {
  FLOWSAMPLER_EXPECTS(o.steps >= 1, "evolve: steps must be >= 1, got " << o.steps);
  FLOWSAMPLER_EXPECTS(std::isfinite(o.dt) && o.dt > 0, "evolve: dt must be > 0, got " << o.dt);
  FLOWSAMPLER_EXPECTS(o.every >= 1, "evolve: every must be >= 1, got " << o.every);
  FLOWSAMPLER_EXPECTS(o.method != Method::ddim && o.method != Method::dpmpp2m,
                      "evolve: needs a velocity method (euler, heun, midpoint, rk4), got " << to_string(o.method));
  std::vector<EvolveRecord> records;
  const bool sharded = o.comm && o.comm->size() > 1;
  auto record = [&](int step, double t, const ParticleSet<Real>& part) {
    ParticleSet<Real> whole;  // a sharded cloud's rows, gathered in row order on rank 0
    if (sharded) {
      whole = gather_rows(ctx, *o.comm, part);
      if (!o.comm->is_root()) return;
    }
    const ParticleSet<Real>& x = sharded ? whole : part;
    EvolveRecord r;
    r.step = step;
    r.t = t;
    r.mean = metrics::mean(ctx, x);
    if (x.n() >= 2) {
      const auto C = metrics::covariance(ctx, x);
      for (std::size_t k = 0; k < x.d(); ++k) r.covariance_trace += C[k * x.d() + k];
    }
    if (reference) r.energy_distance = metrics::energy_distance(ctx, x, *reference);
    records.push_back(std::move(r));
  };
  record(0, 0.0, z);
  Options<Real> opts;
  opts.comm = o.comm;
  opts.on_step = [&](int k, double t, const ParticleSet<Real>& x) {
    if ((k + 1) % o.every == 0 || k + 1 == o.steps) record(k + 1, t, x);
    if (o.on_step) o.on_step(k + 1);
  };
  std::vector<double> grid(static_cast<std::size_t>(o.steps) + 1);
  for (int k = 0; k <= o.steps; ++k) grid[static_cast<std::size_t>(k)] = k * o.dt;
  integrate(ctx, field, z, grid, o.method, opts);
  return records;
}

template std::vector<EvolveRecord> evolve<float>(const Context&, const fields::Field<float>&, ParticleSet<float>&,
                                                 const EvolveOptions&, const ParticleSet<float>*);
template std::vector<EvolveRecord> evolve<double>(const Context&, const fields::Field<double>&, ParticleSet<double>&,
                                                  const EvolveOptions&, const ParticleSet<double>*);

}  // namespace flowsampler::integrate
