#pragma once
// The options of `flowsampler jko` (without CLI11: the Python package uses them too).
#include <cstdint>
#include <string>
#include <vector>

namespace flowsampler::cli {

struct JkoOptions {
  std::string data, target, estimator = "blob", model, out, report, precision = "double", schedule = "constant";
  bool to_normal = false, explicit_step = false, progress = false;
  double h = 0.1, ratio = 1.0, bandwidth = 0, ot_eps = 0, tol = 0, w2_tol = 0, kl_tol = 0;
  std::vector<double> steps_list;
  int steps = 10, max_inner = 200, anderson = 5;
  std::size_t diagnostic_points = 1024;
  std::uint64_t seed = 0;
};

}  // namespace flowsampler::cli
