// Throughput of the counter-based normal fill, against the machine's memory
// write bandwidth measured here (a fill can go no faster than writing its output).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "flowsampler/core/random.hpp"
#include "bench_util.hpp"

namespace fs = flowsampler;
using fs::bench::median_seconds;

template <class Real>
void run(int threads, std::size_t n, std::size_t d) {
  fs::Context ctx = fs::Context::create(fs::Backend::cpu, 1, threads);
  fs::ParticleSet<Real> x(ctx, n, d);
  const double fill = median_seconds([&] { fs::fill_normal(ctx, x); });
  std::vector<Real> buf(n * d);
  const double write = median_seconds([&] {
#pragma omp parallel for num_threads(threads)
    for (long long e = 0; e < (long long)buf.size(); ++e) buf[e] = Real(e);
  });
  fs::bench::Line line;
  line.bench = "random.fill_normal";
  line.precision = sizeof(Real) == 4 ? "float" : "double";
  line.threads = threads;
  line.n = (long long)n;
  line.d = (long long)d;
  line.seconds = fill;
  line.rate = double(n * d) / fill;
  line.unit = "values/s";
  line.limit = double(n * d) / write;
  line.print();
}

int main() {
  for (int threads : {1, 2}) {
    run<float>(threads, 1 << 20, 8);
    run<double>(threads, 1 << 20, 8);
  }
}
