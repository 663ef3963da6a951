#pragma once
// `flowsampler metrics`: distances between two clouds, or between a cloud and
// a target, printed as one JSON object (DESIGN.md section 6).
#include <cstdint>
#include <string>
#include <vector>

namespace flowsampler::cli {

struct MetricsOptions {
  std::string x, y, target, fisher_against, precision = "double";
  std::vector<std::string> mmd;  ///< KERNEL:BANDWIDTH, repeatable
  bool unbiased = false;
  int sliced_w2 = 0;             ///< projections (0: not computed)
  double sinkhorn = 0;           ///< eps (0: not computed)
  double sinkhorn_tol = 1e-5;
  int sinkhorn_max_iter = 10000;
  bool exact_w2 = false, bures = false, energy = false, map_distance = false, kl = false, entropy = false, moments = false;
  int knn_k = 5;
  std::size_t target_samples = 0;  ///< draws of --target for the sample-based metrics (0: N)
  std::size_t fisher_samples = 100000;
  std::uint64_t seed = 0;
};

int run_metrics(const MetricsOptions& options, const std::string& backend);

}  // namespace flowsampler::cli
