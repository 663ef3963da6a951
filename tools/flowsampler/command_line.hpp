#pragma once
// The flowsampler command line: one CLI11 parser holding every Command, and
// the run of a parsed command with the exit-code contract of DESIGN.md
// section 6 (0 done, 2 bad input, 1 the machine failed).
#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "command.hpp"

namespace flowsampler::cli {

class CommandLine {
 public:
  CommandLine();
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;

  /// Parses argv (argv[0] the program); throws CLI::ParseError (help, bad
  /// options). Only parses: nothing is read, written or computed.
  void parse(int argc, const char* const* argv);
  /// The command chosen by the last parse.
  Command& chosen();
  const std::string& backend() const { return backend_; }
  CLI::App& app() { return app_; }

 private:
  CLI::App app_{"flowsampler: move particle clouds along transport flows"};
  std::string backend_ = "auto";
  std::vector<std::unique_ptr<Command>> commands_;
  std::vector<CLI::App*> subs_;
};

/// main(): parse, run, and map every failure to its exit code and one line
/// on stderr (under mpirun a failing rank ends the job).
int run_command_line(int argc, const char* const* argv);

}  // namespace flowsampler::cli
