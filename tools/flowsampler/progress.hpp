#pragma once
// A progress line on stderr, redrawn in place: a bar, step k of K (when
// known), a short status and the elapsed seconds. Drawn only when asked or
// when stderr is a terminal, so logs and pipes stay clean.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

namespace flowsampler::cli {

class Progress {
 public:
  explicit Progress(bool requested) : on_(requested || isatty(STDERR_FILENO)), t0_(std::chrono::steady_clock::now()) {}

  /// fraction in [0, 1]; steps = 0 when the total is unknown.
  void draw(double fraction, int k, int steps, const std::string& status = "") const {
    if (!on_) return;
    const int width = 30, done = static_cast<int>(width * std::clamp(fraction, 0.0, 1.0));
    std::fprintf(stderr, "\r[%.*s%*s] step %d", done, "##############################", width - done, "", k);
    if (steps > 0) std::fprintf(stderr, "/%d", steps);
    if (!status.empty()) std::fprintf(stderr, "  %s", status.c_str());
    std::fprintf(stderr, "  %.1f s ", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count());
    if (fraction >= 1) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  }

 private:
  bool on_;
  std::chrono::steady_clock::time_point t0_;
};

}  // namespace flowsampler::cli
