#pragma once
// `flowsampler drift`: move a cloud with a kernel drift field.
#include <cstdint>
#include <string>
#include <vector>

namespace flowsampler::cli {

struct DriftOptions {
  std::string field, x, data, target, out, report, kernel, integrator = "euler", precision = "float";
  double eps = 1.0, dt = 0.1, ot_eps = 0;
  std::vector<double> temperatures;
  int steps = 100, every = 10;
  bool include_self = false, median_bandwidth = false, progress = false;
  std::size_t target_samples = 0, batch = 0;
  std::uint64_t seed = 0;
};

int run_drift(const DriftOptions& options, const std::string& backend);

}  // namespace flowsampler::cli
