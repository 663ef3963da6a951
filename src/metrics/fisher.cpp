#include "flowsampler/metrics/fisher.hpp"

#include <algorithm>
#include <cmath>

#include "flowsampler/core/error.hpp"
#include "flowsampler/fields/gmm_field.hpp"

namespace flowsampler::metrics {

FisherInformation relative_fisher_information(Context& ctx, const targets::GaussianMixture& nu,
                                              const targets::GaussianMixture& mu, std::size_t n) {
  FLOWSAMPLER_EXPECTS(nu.dim() == mu.dim(), "fisher: nu has d = " << nu.dim() << ", mu has d = " << mu.dim());
  FLOWSAMPLER_EXPECTS(n >= 2, "fisher: need at least 2 samples, got " << n);
  FLOWSAMPLER_EXPECTS(!nu.has_atoms() && !mu.has_atoms(), "fisher: Dirac atoms have no score");
  const ParticleSet<double> x = nu.sample<double>(ctx, n);
  // The targets' own scores: the path point a = 1, b = 0 (no noise).
  const paths::PathPoint data_end{1.0, 0.0, 0.0, 0.0, 0.0};
  fields::FieldRequest req;
  req.score = true;
  const std::vector<double> s_nu = fields::GmmField(nu).evaluate(ctx, data_end, x, req).score.to_host();
  const std::vector<double> s_mu = fields::GmmField(mu).evaluate(ctx, data_end, x, req).score.to_host();
  const std::size_t d = nu.dim();
  FisherInformation r;
  r.samples = n;
  double sum = 0, sum2 = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double q = 0;
    for (std::size_t k = 0; k < d; ++k) q += std::pow(s_nu[k * n + i] - s_mu[k * n + i], 2);
    sum += q;
    sum2 += q * q;
    r.sup = std::max(r.sup, q);
  }
  r.value = sum / double(n);
  r.std_error = std::sqrt(std::max(0.0, sum2 / double(n) - r.value * r.value) / double(n - 1));
  return r;
}

}  // namespace flowsampler::metrics
