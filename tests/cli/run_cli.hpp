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

inline std::pair<int, std::string> run_cli_output(const std::string& args) {
  const std::string cmd = std::string(FLOWSAMPLER_CLI) + " " + args + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  std::size_t got;
  while ((got = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, got);
  const int rc = pclose(p);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

inline std::pair<int, std::string> run_cli_stderr(const std::string& args, int timeout_seconds = 60) {
  const std::string cmd = "timeout " + std::to_string(timeout_seconds) + " " + std::string(FLOWSAMPLER_CLI) + " " + args +
                          " 2>&1 >/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  std::string err;
  char buf[4096];
  std::size_t got;
  while ((got = fread(buf, 1, sizeof buf, p)) > 0) err.append(buf, got);
  const int rc = pclose(p);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, err};
}

}  // namespace flowsampler::test
