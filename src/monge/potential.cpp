#include "flowsampler/monge/potential.hpp"

#include <cmath>

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
  const std::vector<Real> h = x.to_host();
  const std::vector<double> xd(h.begin(), h.end());
  const std::vector<double> t = potential.map(xd.data(), x.n());
  const std::vector<Real> out(t.begin(), t.end());
  return ParticleSet<Real>::from_column_major(ctx, out.data(), x.n(), x.d());
}

template ParticleSet<float> apply_map<float>(const Context&, const ConvexPotential&, const ParticleSet<float>&);
template ParticleSet<double> apply_map<double>(const Context&, const ConvexPotential&, const ParticleSet<double>&);

}  // namespace flowsampler::monge
