#pragma once
// One shape for every subcommand (issue 21): a Command owns its options,
// registers them on its CLI11 subcommand and runs after parsing. The command
// line (command_line.hpp) builds one parser from all of them, for main() and
// for the argument fuzz target alike; the options every command shares are
// added by the helpers below, so each is written once.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cli_checks.hpp"
#include "flowsampler/core/context.hpp"

namespace flowsampler::cli {

class Command {
 public:
  virtual ~Command() = default;
  virtual const char* name() const = 0;
  virtual const char* summary() const = 0;
  /// Registers the options on `sub` (this command's subcommand), bound to
  /// members of this object; --backend is added by the command line.
  virtual void add_options(CLI::App& sub) = 0;
  /// Runs the parsed command: its exit code. Throws Error on bad input and
  /// RuntimeError when the machine fails (device, I/O).
  virtual int run(const std::string& backend) = 0;
  /// Its result goes to stdout (metrics' JSON, info): a failed write is exit 1.
  virtual bool writes_stdout() const { return false; }
  /// Runs sharded under mpirun; the others run as one process only.
  virtual bool runs_under_mpirun() const { return false; }
};

/// Every subcommand, in --help order: info, sample, metrics, drift, jko,
/// jko-sample, monge, monge-apply, reproduce.
std::vector<std::unique_ptr<Command>> all_commands();

// The commands' factories (each in its *_command.cpp).
std::unique_ptr<Command> make_info_command();
std::unique_ptr<Command> make_sample_command();
std::unique_ptr<Command> make_metrics_command();
std::unique_ptr<Command> make_drift_command();
std::unique_ptr<Command> make_jko_command();
std::unique_ptr<Command> make_jko_sample_command();
std::unique_ptr<Command> make_monge_command();
std::unique_ptr<Command> make_monge_apply_command();
std::unique_ptr<Command> make_reproduce_command();

/// --backend: auto, cpu, cuda or emulator (one list of choices).
inline CLI::Option* add_backend_option(CLI::App& app, std::string& backend) {
  return app
      .add_option("--backend", backend,
                  "auto, cpu, cuda or emulator (the CUDA orchestration on the CPU, with device memory protected "
                  "and transfers counted in the report's \"device\" object)")
      ->check(CLI::IsMember(names(backend_names)));
}

/// --precision: float or double.
inline CLI::Option* add_precision_option(CLI::App& app, std::string& precision, const std::string& help = "float or double") {
  return app.add_option("--precision", precision, help)->capture_default_str()->check(CLI::IsMember({"float", "double"}));
}

/// --seed: a plain decimal integer (no sign, no octal).
inline CLI::Option* add_seed_option(CLI::App& app, std::uint64_t& seed, const std::string& help = "random seed") {
  return app.add_option("--seed", seed, help)->capture_default_str()->check(count());
}

/// --progress: a progress bar on stderr.
inline CLI::Option* add_progress_flag(CLI::App& app, bool& progress) {
  return app.add_flag("--progress", progress, "progress bar on stderr (default: when stderr is a terminal)");
}

}  // namespace flowsampler::cli
