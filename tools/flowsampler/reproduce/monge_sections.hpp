#pragma once
// The sections of `flowsampler reproduce monge` (seed: monge-maps-constrained-
// drifting). Each records its checks, returns its numbers for result.json and
// appends its part of table.md.
#include <sstream>

#include <nlohmann/json.hpp>

#include "checks.hpp"
#include "common.hpp"
#include "monge_gaussian.hpp"

namespace flowsampler::cli::reproduce {

/// The Gaussian problems of the theory and library sections: rho = N(m1, S1)
/// -> pi = N(0, S2) in dimension d, S1 and S2 not commuting, the largest
/// eigenvalue of S2 equal to 2 (lambda = 1/2 in every d) and m1 displaced
/// along its eigenvector, so that the slowest mode of the flow is the mean's:
/// the rates e^-lambda t and (1 + tau lambda)^-k are attained there.
gaussian_monge::Problem monge_gaussian_problem(int d);

/// Theorem 2.13 / Corollary 2.17 (the flow, d = 2, 8, 32), Proposition 3.1
/// (the implicit scheme's rate) and Proposition 3.3 (tau -> 0), on the exact
/// Gaussian computation.
nlohmann::json monge_theory(const Options& o, Checks& checks, std::ostringstream& md);

/// The bias of the score estimates that drive F = KL (the pushed covariance
/// they settle at) as the batch grows.
nlohmann::json monge_score_bias(const Options& o, Checks& checks, std::ostringstream& md);

/// The library's implicit scheme (ICNN, sampled score) against the exact
/// Gaussian iterates: the rate (1 + tau lambda)^-k and the pushed covariance.
nlohmann::json monge_library_gaussian(const Options& o, Checks& checks, std::ostringstream& md);

/// Corollary 3.8: an explicit step of the library equals the L2(rho)-natural
/// gradient step, J (J^T J)^-1 J^T of the gradient, J by finite differences.
nlohmann::json monge_natural_gradient(const Options& o, Checks& checks, std::ostringstream& md);

/// Figure 2 of the seed (section 3.4): the four methods over seeds, with the
/// ordering of (a, b) against (c, d) as paired claim checks.
nlohmann::json monge_figure2(const Options& o, Checks& checks, std::ostringstream& md);

}  // namespace flowsampler::cli::reproduce
