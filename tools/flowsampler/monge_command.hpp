#pragma once
// `flowsampler monge`: learn a Monge map T = grad phi_theta (a convex
// potential) from a source to the minimiser of KL, MMD or the Sinkhorn
// divergence to a target, by the constrained drifting schemes or a Euclidean
// baseline (flowsampler/monge/train.hpp); `flowsampler monge-apply`: push a
// cloud through a saved map.
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

int run_monge(const MongeCliOptions& options, const std::string& backend);
int run_monge_apply(const MongeApplyOptions& options, const std::string& backend);

}  // namespace flowsampler::cli
