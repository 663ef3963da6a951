#pragma once
// What every benchmark binary shares: one JSON line per case, in the schema of
// DESIGN.md section 7, and the median wall time of repeated runs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "flowsampler/core/context.hpp"

namespace flowsampler::bench {

/// Every benchmark's command line: `[--backend cpu|cuda|emulator] [--threads T]`
/// (a bare number is the thread count, as before).
struct Args {
  Backend backend = Backend::cpu;
  int threads = 2;
};

inline Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--backend") && i + 1 < argc) {
      a.backend = parse_backend(argv[++i], "--backend");
    } else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
      a.threads = std::atoi(argv[++i]);
    } else if (argv[i][0] >= '0' && argv[i][0] <= '9') {
      a.threads = std::atoi(argv[i]);
    } else {
      std::fprintf(stderr, "usage: %s [--backend cpu|cuda|emulator] [--threads T]\n", argv[0]);
      std::exit(2);
    }
  }
  return a;
}

/// A GPU's own limits, from its properties: the SFU (MUFU) exp2 rate,
/// 16 per clock per SM on sm_80/sm_90, and the peak DRAM bandwidth.
inline double gpu_exp_limit(const DeviceInfo& i) { return 16.0 * i.multiprocessors * i.clock_hz; }
inline double gpu_bandwidth_limit(const DeviceInfo& i) { return i.memory_bandwidth; }

struct Line {
  std::string bench, backend = "cpu", precision, unit;
  int threads = 1;
  long long n = 0, m = 0, d = 0;
  double seconds = 0, rate = 0, limit = 0;
  std::string extra;  // further "key": value pairs, already formatted, without braces

  void print() const {
    std::printf("{\"bench\": \"%s\", \"backend\": \"%s\", \"precision\": \"%s\", \"threads\": %d, "
                "\"n\": %lld, \"m\": %lld, \"d\": %lld, \"seconds\": %.6g, \"rate\": %.6g, \"unit\": \"%s\", "
                "\"limit\": %.6g, \"ratio\": %.4g, \"peer\": null, \"speedup\": null%s%s}\n",
                bench.c_str(), backend.c_str(), precision.c_str(), threads, n, m, d, seconds, rate, unit.c_str(),
                limit, limit > 0 ? rate / limit : 0.0, extra.empty() ? "" : ", ", extra.c_str());
    std::fflush(stdout);
  }
};

/// Median wall-clock seconds of `reps` calls of f (the machine is shared and noisy).
template <class F>
double median_seconds(F&& f, int reps = 5) {
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const auto a = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace flowsampler::bench
