#pragma once
// Runs the flowsampler command line from a test: the exit code, and with
// run_output also what it printed on stdout (stderr is discarded), with
// run_cli_stderr what it printed on stderr (under a timeout: a hang is rc 124).
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

namespace flowsampler::test {

inline int run_cli(const std::string& args) {
  const std::string cmd = std::string(FLOWSAMPLER_CLI) + " " + args + " 2>/dev/null";
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/// Runs a shell command; its exit code and everything it wrote to the pipe.
inline std::pair<int, std::string> read_command(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "r");
  std::string text;
  char buf[4096];
  std::size_t got;
  while ((got = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, got);
  const int rc = pclose(p);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, text};
}

inline std::pair<int, std::string> run_cli_output(const std::string& args) {
  return read_command(std::string(FLOWSAMPLER_CLI) + " " + args + " 2>/dev/null");
}

inline std::pair<int, std::string> run_cli_stderr(const std::string& args, int timeout_seconds = 60) {
  return read_command("timeout " + std::to_string(timeout_seconds) + " " + std::string(FLOWSAMPLER_CLI) + " " + args +
                      " 2>&1 >/dev/null");
}

}  // namespace flowsampler::test
