#pragma once
// `flowsampler sample`: its options and the command (DESIGN.md section 6).
#include <cstdint>
#include <string>
#include <vector>

namespace flowsampler::cli {

struct SampleOptions {
  std::string target, path = "linear", integrator = "rk4", schedule = "uniform", init, out, report, loglik,
      trajectory, precision = "float", noise_cov;
  int snapshots = 0;
  std::size_t trajectory_particles = 0;  ///< 0: all
  std::vector<double> times;
  double horizon = 5.0, early_stop = 0.0, eta = 1.0, rtol = 1e-5, atol = 1e-5, langevin_snr = 0.16;
  int langevin_steps = 0;
  int steps = 50;
  std::size_t n = 10000;
  std::uint64_t seed = 0;
  bool progress = false;
  std::size_t quality_subsample = 16384;  ///< particles compared by MMD and sliced W2 (0: no quality section)
  int quality_projections = 64;
};

/// Runs the command; throws flowsampler::Error on bad input.
int run_sample(const SampleOptions& options, const std::string& backend);

}  // namespace flowsampler::cli
