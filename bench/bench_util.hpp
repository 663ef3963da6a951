#pragma once
// What every benchmark binary shares: one JSON line per case, in the schema of
// DESIGN.md section 7, and the median wall time of repeated runs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace flowsampler::bench {

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
