#pragma once
// Targets far from the origin (issue 19). The path x_t = a(t) X + b(t) Y is
// equivariant under translations of X: the flow of a target moved by c is the
// flow of the centred target moved by a(t) c. `sample` therefore integrates
// the centred target and adds a(t) c to what it hands out, in double and
// rounded once, so a float cloud at 1e6 keeps the digits of its unit spread
// (before, the logits of x - a m_k cancelled and particles stuck). What no
// coordinates can fix is an output whose rounding at its magnitude reaches
// the law's narrowest spread: that is refused before any work, and a loss
// above 1e-3 of that spread is warned about.
#include <algorithm>
#include <Eigen/Dense>
#include <cmath>
#include <cstddef>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "flowsampler/core/error.hpp"
#include "flowsampler/targets/gaussian_mixture.hpp"
#include "spread_check.hpp"

namespace flowsampler::cli {

/// The shift c to integrate about: the target's mean when it lies farther
/// from the origin than the target's spread, empty otherwise (nearby targets
/// keep their bit-identical results).
inline std::vector<double> far_target_centre(const targets::GaussianMixture& target) {
  const std::vector<double> c = targets::mixture_mean(target);
  double c2 = 0;
  for (double v : c) c2 += v * v;
  return c2 > total_variance(target) ? c : std::vector<double>{};
}

/// rows (n x d, row-major) += a c; nothing when c is empty.
template <class Real>
void add_scaled_centre(std::vector<Real>& rows, std::size_t d, const std::vector<double>& c, double a) {
  if (c.empty() || a == 0) return;
  for (std::size_t e = 0; e < rows.size(); ++e) rows[e] = static_cast<Real>(double(rows[e]) + a * c[e % d]);
}

/// Refuses (Error) a law N(a m_k, a^2 S_k + b^2 Sigma_n) whose coordinates
/// Real cannot hold, or whose rounding at their magnitude reaches the
/// narrowest standard deviation; warns on stderr above 1e-3 of it.
template <class Real>
void expect_precision_suffices(const targets::GaussianMixture& target, const targets::Noise& noise, double a, double b,
                               const std::string& precision) {
  const std::size_t d = target.dim();
  double reach = 0, narrowest = std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; k < target.size(); ++k) {
    for (double m : target.mean(k)) reach = std::max(reach, std::abs(a * m));
    narrowest = std::min(narrowest, a * a * *std::min_element(target.eigenvalues(k).begin(), target.eigenvalues(k).end()));
  }
  // lambda_min(a^2 S_k + b^2 Sigma_n) >= a^2 lambda_min(S_k) + b^2 lambda_min(Sigma_n).
  const std::vector<double> W = noise.sqrt_matrix(d);
  const Eigen::Map<const Eigen::MatrixXd> Wm(W.data(), static_cast<Eigen::Index>(d), static_cast<Eigen::Index>(d));
  const double noise_min = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(Wm * Wm, Eigen::EigenvaluesOnly).eigenvalues().minCoeff();
  const double sd = std::sqrt(narrowest + b * b * noise_min);
  const double limit = double(std::numeric_limits<Real>::max());
  FLOWSAMPLER_EXPECTS(reach < 0.5 * limit, "--precision " << precision << ": the target's means reach " << reach
                                                          << ", beyond its range (" << limit << "); use --precision double");
  const double spacing = reach * double(std::numeric_limits<Real>::epsilon());  // between neighbouring values at `reach`
  if (!(sd > 0)) return;
  FLOWSAMPLER_EXPECTS(spacing < sd, "--precision " << precision << " cannot resolve this target: its values at "
                                                   << reach << " are " << spacing << " apart, wider than the narrowest "
                                                   << "standard deviation " << sd << "; use --precision double");
  if (spacing > 1e-3 * sd)
    std::cerr << "flowsampler: warning: --precision " << precision << " rounds the samples at " << reach << " to "
              << spacing << ", " << spacing / sd << " of the narrowest standard deviation " << sd
              << "; --precision double keeps those digits\n";
}

}  // namespace flowsampler::cli
