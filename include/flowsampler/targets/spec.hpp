#pragma once
/// \file The JSON target spec of DESIGN.md section 6.
///
///   {"type": "gaussian_mixture", "dim": 2, "weights": [0.3, 0.7],
///    "means": [[-2, 0], [2, 1]], "covariances": [0.25, [[1, 0.3], [0.3, 0.5]]]}
/// Each covariance is a number (isotropic variance), a list of d numbers
/// (diagonal) or a d x d list (full). {"type": "empirical", "points":
/// "atoms.npy"} gives Dirac atoms (path relative to the spec file).
/// Every error names the file and the offending entry.
#include <string>
#include <vector>

#include "flowsampler/targets/gaussian_mixture.hpp"

namespace flowsampler::targets {

/// Parses spec text; `name` is used in messages, `base_dir` resolves "points".
GaussianMixture parse_target(const std::string& text, const std::string& name = "target",
                             const std::string& base_dir = ".");
/// A noise covariance written like a spec covariance: a JSON number
/// (sigma^2), a list of d variances or a d x d matrix. `name` leads the messages.
Noise parse_noise(const std::string& text, std::size_t d, const std::string& name = "noise covariance");

/// Reads and parses a spec file.
GaussianMixture load_target(const std::string& path);

/// The files reading the spec at `path` touches: the spec itself and, for an
/// empirical target, its "points" file (so that a command's outputs can be
/// kept off them). Never throws for a malformed spec: load_target reports it.
std::vector<std::string> target_files(const std::string& path);

}  // namespace flowsampler::targets
