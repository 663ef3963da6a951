#pragma once
// Option checks with short messages (CLI11's PositiveNumber prints the whole
// range of double, a 300-digit line).
#include <CLI/CLI.hpp>

#include <cmath>
#include <string>

namespace flowsampler::cli {

inline const CLI::Validator positive_number(
    [](std::string& s) -> std::string {
      try {
        std::size_t used = 0;
        const double v = std::stod(s, &used);
        if (used == s.size() && std::isfinite(v) && v > 0) return {};
      } catch (const std::exception&) {
      }
      return "expected a number > 0, got " + s;
    },
    "NUMBER > 0", "positive_number");

}  // namespace flowsampler::cli

namespace flowsampler::cli {

/// The --backend option every command takes (one list of choices).
inline CLI::Option* add_backend_option(CLI::App* app, std::string& backend) {
  return app
      ->add_option("--backend", backend,
                   "auto, cpu, cuda or emulator (the CUDA orchestration on the CPU, with device memory protected "
                   "and transfers counted in the report's \"device\" object)")
      ->check(CLI::IsMember({"auto", "cpu", "cuda", "emulator"}));
}

}  // namespace flowsampler::cli
