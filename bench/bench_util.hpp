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
/// anywhere, plus the binary's own positional arguments in `rest` (where a
/// binary took a bare thread count first, `positional_threads` keeps that).
struct Args {
  Backend backend = Backend::cpu;
  int threads = 2;
  bool threads_given = false;
  std::vector<std::string> rest;

  /// The i-th positional argument as an integer, or `fallback` when absent.
  int integer(std::size_t i, int fallback) const { return i < rest.size() ? std::atoi(rest[i].c_str()) : fallback; }
  bool flag(const char* name) const { return std::find(rest.begin(), rest.end(), name) != rest.end(); }
  /// Old usage `bench_x T ...`: a leading bare number is the thread count.
  Args& positional_threads() {
    if (!threads_given && !rest.empty() && rest[0][0] >= '0' && rest[0][0] <= '9') {
      threads = std::atoi(rest[0].c_str());
      threads_given = true;
      rest.erase(rest.begin());
    }
    return *this;
  }
};

inline Backend parse_backend(const char* s, const char* what) {
  if (!std::strcmp(s, "cpu")) return Backend::cpu;
  if (!std::strcmp(s, "cuda")) return Backend::cuda;
  if (!std::strcmp(s, "emulator")) return Backend::emulator;
  std::fprintf(stderr, "%s: expected cpu, cuda or emulator, got '%s'\n", what, s);
  std::exit(2);
}

/// The backend every line names unless a case sets its own: the one parse_args read.
inline std::string& line_backend() {
  static std::string b = "cpu";
  return b;
}

inline Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--backend") && i + 1 < argc) {
      a.backend = parse_backend(argv[++i], "--backend");
    } else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
      a.threads = std::atoi(argv[++i]);
      a.threads_given = true;
      if (a.threads < 1) {
        std::fprintf(stderr, "--threads: expected a positive integer, got '%s'\n", argv[i]);
        std::exit(2);
      }
    } else {
      a.rest.emplace_back(argv[i]);
    }
  }
  line_backend() = to_string(a.backend);
  return a;
}

/// The thread counts a binary sweeps: the one asked for, or {1, 2} on the CPU;
/// a device context has no thread count to sweep.
inline std::vector<int> thread_sweep(const Args& a) {
  if (a.backend != Backend::cpu) return {a.threads};
  if (a.threads_given) return {a.threads};
  return {1, 2};
}

/// A GPU's own limits, from its properties: the SFU (MUFU) exp2 rate,
/// 16 per clock per SM on sm_80/sm_90, and the peak DRAM bandwidth.
inline double gpu_exp_limit(const DeviceInfo& i) { return 16.0 * i.multiprocessors * i.clock_hz; }
inline double gpu_bandwidth_limit(const DeviceInfo& i) { return i.memory_bandwidth; }

struct Line {
  std::string bench, backend = line_backend(), precision, unit;
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
/// A machine limit measured as the best of several trials, with their spread.
struct Limit {
  double best = 0, worst = 0;  ///< per second: the fastest and the slowest trial
  void add(double rate) {
    best = std::max(best, rate);
    worst = worst > 0 ? std::min(worst, rate) : rate;
  }
  double spread() const { return worst > 0 ? best / worst : 0; }
};

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
