#include "flowsampler/monge/potential.hpp"

#include <cmath>
#include <type_traits>

#include "cloud/lincomb.hpp"
#include "core/launch.hpp"
#include "flowsampler/core/error.hpp"

namespace flowsampler::monge {

void ConvexPotential::set_params(const std::vector<double>& theta) {
  FLOWSAMPLER_EXPECTS(theta.size() == theta_.size(),
                      spec().type << " potential: expected " << theta_.size() << " parameters, got " << theta.size());
  for (std::size_t p = 0; p < theta.size(); ++p)
    FLOWSAMPLER_EXPECTS(std::isfinite(theta[p]), spec().type << " potential: parameter " << p << " is " << theta[p]);
  theta_ = theta;
  project();
}

Buffer<double> ConvexPotential::params_on(const Context& ctx) const {
  Buffer<double> b(ctx, theta_.size());
  b.copy_from_host(theta_.data());
  return b;
}

void ConvexPotential::expect_points(const Context& ctx, const ParticleSet<double>& x, const ParticleSet<double>* g) const {
  FLOWSAMPLER_EXPECTS(x.d() == dim(), spec().type << " potential: points have d = " << x.d() << ", the potential d = " << dim());
  FLOWSAMPLER_EXPECTS(x.belongs_to(ctx), spec().type << " potential: the points must live in the context's memory ("
                                                     << to_string(ctx.backend()) << ")");
  if (g) {
    FLOWSAMPLER_EXPECTS(g->n() == x.n() && g->d() == x.d(), spec().type << " potential: the cotangents are " << g->n() << " x "
                                                                       << g->d() << ", the points " << x.n() << " x " << x.d());
    FLOWSAMPLER_EXPECTS(g->belongs_to(ctx), spec().type << " potential: the cotangents must live in the context's memory");
  }
}

namespace {

// Host arrays through the device code on a CPU context (no copies of the
// arrays' layout: they are the ParticleSet layout already).
Context host_context() { return Context::create(Backend::cpu); }

ParticleSet<double> host_set(const Context& ctx, const double* x, std::size_t n, std::size_t d) {
  return ParticleSet<double>::from_column_major(ctx, x, n, d);
}

}  // namespace

std::vector<double> ConvexPotential::value(const double* x, std::size_t n) const {
  const Context ctx = host_context();
  return value(ctx, host_set(ctx, x, n, dim())).to_host();
}

std::vector<double> ConvexPotential::map(const double* x, std::size_t n) const {
  const Context ctx = host_context();
  return map(ctx, host_set(ctx, x, n, dim())).to_host();
}

std::vector<double> ConvexPotential::map_vjp(const double* x, const double* g, std::size_t n) const {
  const Context ctx = host_context();
  return map_vjp(ctx, host_set(ctx, x, n, dim()), host_set(ctx, g, n, dim()));
}

std::unique_ptr<ConvexPotential> make_potential(const PotentialSpec& spec) {
  if (spec.type == "icnn") return std::make_unique<IcnnPotential>(spec);
  if (spec.type == "lse") return std::make_unique<LogSumExpPotential>(spec);
  FLOWSAMPLER_EXPECTS(false, "potential type: expected icnn or lse, got '" << spec.type << "'");
  return nullptr;
}

template <class Real>
ParticleSet<Real> apply_map(const Context& ctx, const ConvexPotential& potential, const ParticleSet<Real>& x) {
  FLOWSAMPLER_EXPECTS(x.d() == potential.dim(),
                      "apply_map: points have d = " << x.d() << ", the map has d = " << potential.dim());
  const ParticleSet<Real> moved = x.belongs_to(ctx) ? ParticleSet<Real>() : x.copy(ctx);
  const ParticleSet<Real>& here = x.belongs_to(ctx) ? x : moved;
  if constexpr (std::is_same<Real, double>::value) {
    return potential.map(ctx, here);
  } else {
    ParticleSet<double> wide(ctx, here.n(), here.d());
    detail::for_each(ctx, wide.size(), kernels::Convert<double, Real>{wide.data(), here.data()});
    const ParticleSet<double> t = potential.map(ctx, wide);
    ParticleSet<Real> out(ctx, t.n(), t.d());
    detail::for_each(ctx, out.size(), kernels::Convert<Real, double>{out.data(), t.data()});
    return out;
  }
}

template ParticleSet<float> apply_map<float>(const Context&, const ConvexPotential&, const ParticleSet<float>&);
template ParticleSet<double> apply_map<double>(const Context&, const ConvexPotential&, const ParticleSet<double>&);

}  // namespace flowsampler::monge
