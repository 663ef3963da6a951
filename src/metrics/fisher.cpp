#include "flowsampler/metrics/fisher.hpp"

#include <algorithm>
#include <cmath>

#include "core/launch.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/fields/gmm_field.hpp"
#include "metrics/rows.hpp"

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
  const ParticleSet<double> s_nu = fields::GmmField(nu).evaluate(ctx, data_end, x, req).score;
  const ParticleSet<double> s_mu = fields::GmmField(mu).evaluate(ctx, data_end, x, req).score;
  // q_i = |s_nu(x_i) - s_mu(x_i)|^2: its sum, sum of squares and max, reduced where the scores are.
  const std::vector<double> sums = detail::reduce(ctx, n, 2, kernels::RowSqDist<double, false>{s_nu.data(), s_mu.data(), n, nu.dim()});
  FisherInformation r;
  r.samples = n;
  r.sup = detail::reduce(ctx, n, 1, kernels::RowSqDist<double, true>{s_nu.data(), s_mu.data(), n, nu.dim()})[0];
  r.value = sums[0] / double(n);
  r.std_error = std::sqrt(std::max(0.0, sums[1] / double(n) - r.value * r.value) / double(n - 1));
  return r;
}

}  // namespace flowsampler::metrics
