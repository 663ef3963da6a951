#pragma once
// Finite but wrong results (issue 19): `sample` compares the cloud's total
// variance with the exact one of the law it should follow. A cloud a thousand
// times tighter collapsed (--noise-cov 1e-300: the flow must amplify the noise
// 1e150-fold, every particle lands on one point); a thousand times wider blew
// up (an explicit fixed-step integrator beyond its stability limit: the vp path
// to a target of variance 1e-4 ended at variance 800). For N >= 16 fresh
// particles a factor 1000 is never sampling noise.
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "flowsampler/core/error.hpp"
#include "flowsampler/targets/gaussian_mixture.hpp"

namespace flowsampler::cli {

/// tr Cov(X), X ~ target, with the covariance taken about the mean, so means
/// at 1e12 keep the digits of a unit spread.
inline double total_variance(const targets::GaussianMixture& target) {
  const std::size_t d = target.dim();
  const std::vector<double> cov = targets::mixture_covariance(target);
  double trace = 0;
  for (std::size_t j = 0; j < d; ++j) trace += cov[j * d + j];
  return trace;
}

/// tr Cov(a X + b Y), X ~ target, Y ~ N(0, Sigma_n) independent.
inline double exact_total_variance(const targets::GaussianMixture& target, const targets::Noise& noise, double a, double b) {
  double noise_trace = 0;
  for (double v : noise.sqrt_matrix(target.dim())) noise_trace += v * v;  // tr(W W) = ||W||_F^2, W symmetric
  return a * a * total_variance(target) + b * b * noise_trace;
}

/// Error when the n x d row-major cloud's total variance is below 1e-3 or
/// above 1e3 times `exact`, naming the likely cause of each.
template <class Real>
void expect_plausible_spread(const std::vector<Real>& rows, std::size_t n, std::size_t d, double exact, const std::string& what,
                             const std::string& collapse_cause, const std::string& blowup_cause) {
  if (n < 16 || !(exact > 0) || !std::isfinite(exact)) return;
  double total = 0;
  for (std::size_t k = 0; k < d; ++k) {
    double mean = 0, sq = 0;
    for (std::size_t i = 0; i < n; ++i) mean += double(rows[i * d + k]);
    mean /= double(n);
    for (std::size_t i = 0; i < n; ++i) sq += (double(rows[i * d + k]) - mean) * (double(rows[i * d + k]) - mean);
    total += sq / double(n - 1);
  }
  FLOWSAMPLER_EXPECTS(total >= 1e-3 * exact, what << " collapsed: total variance " << total << " where the law has " << exact
                                                  << " (nothing written); likely cause: " << collapse_cause);
  FLOWSAMPLER_EXPECTS(total <= 1e3 * exact, what << " blew up: total variance " << total << " where the law has " << exact
                                                 << " (nothing written); likely cause: " << blowup_cause);
}

}  // namespace flowsampler::cli
