#pragma once
// One JSON line per benchmark case, in the schema of DESIGN.md section 7.
#include <cstdio>
#include <string>

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

}  // namespace flowsampler::bench
