#pragma once
// `flowsampler jko`: the particle JKO scheme from a data cloud towards a
// target (N(0, I) or a spec), optionally keeping a JKO flow model; and
// `flowsampler jko-sample`: generation from a saved model.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

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

struct JkoSampleOptions {
  std::string model, out, precision = "double";
  std::size_t n = 1000;
  std::uint64_t seed = 0;
};

/// The subcommands registered by add_jko_commands.
struct JkoCommands {
  CLI::App* jko = nullptr;
  CLI::App* sample = nullptr;
};

/// Registers `jko` and `jko-sample` on `app`, binding their options to `jo`,
/// `so` and the shared `backend` string (all must outlive parsing). Returns the
/// `jko` subcommand; `commands` (optional) receives both.
CLI::App* add_jko_commands(CLI::App& app, JkoOptions& jo, JkoSampleOptions& so, std::string& backend,
                           JkoCommands* commands = nullptr);

int run_jko(const JkoOptions& options, const std::string& backend);
int run_jko_sample(const JkoSampleOptions& options, const std::string& backend);

}  // namespace flowsampler::cli
