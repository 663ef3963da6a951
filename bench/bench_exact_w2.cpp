// Times metrics::exact_assignment (exact W2 by optimal assignment) at N = M = 2000,
// d = 3, standard normal clouds: one JSON line per repetition, then the median.
// Usage: bench_exact_w2 [n] [d] [reps]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "flowsampler/metrics/exact_w2.hpp"

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 2000;
  const std::size_t d = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 3;
  const int reps = argc > 3 ? std::atoi(argv[3]) : 5;

  std::vector<double> seconds;
  double cost = 0;
  for (int r = 0; r < reps; ++r) {
    // A fresh pair of clouds per repetition, so the median is over instances too.
    std::mt19937_64 rng(1000 + r);
    std::normal_distribution<double> g;
    std::vector<double> x(n * d), y(n * d);
    for (double& t : x) t = g(rng);
    for (double& t : y) t = g(rng);
    const auto a = std::chrono::steady_clock::now();
    const auto result = flowsampler::metrics::exact_assignment(x.data(), y.data(), n, d);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
    cost = result.cost;
    seconds.push_back(s);
    std::printf("{\"bench\":\"exact_w2\",\"n\":%zu,\"d\":%zu,\"rep\":%d,\"seconds\":%.6f,\"cost\":%.17g}\n", n, d, r, s,
                cost);
    std::fflush(stdout);
  }
  std::vector<double> sorted = seconds;
  std::sort(sorted.begin(), sorted.end());
  std::printf("{\"bench\":\"exact_w2\",\"n\":%zu,\"d\":%zu,\"reps\":%d,\"median_seconds\":%.6f,\"min_seconds\":%.6f}\n",
              n, d, reps, sorted[sorted.size() / 2], sorted.front());
  return 0;
}
