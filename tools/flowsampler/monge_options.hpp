#pragma once
// The options of `flowsampler monge` and `monge-apply` (without CLI11: the Python package uses them too).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace flowsampler::cli {

struct MongeCliOptions {
  std::string source, target, potential = "icnn", method = "implicit", functional = "kl", init = "identity", out, report;
  std::string estimator = "blob";  // kl: the score estimate of the pushed batch
  bool progress = false;
  std::vector<std::size_t> widths{20, 20};
  std::size_t pieces = 64, batch = 100, target_samples = 2000, eval_points = 2000;
  double tau = 0.4, lr = 0.1, lse_s = 0.1, ot_eps = 0, bandwidth = 0;
  int steps = 10, inner = 100;
  bool no_skip = false, allow_non_log_concave = false, identity_first_step = false;
  std::uint64_t seed = 0;
};

struct MongeApplyOptions {
  std::string map, x, out, precision = "double";
};

}  // namespace flowsampler::cli
