#include "flowsampler/metrics/sliced_w2.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "flowsampler/core/error.hpp"
#include "flowsampler/core/random.hpp"
#include "cpu/radix_sort.hpp"

namespace flowsampler::metrics {

double w2_squared_1d_sorted(const double* u, std::size_t n, const double* v, std::size_t m) {
  FLOWSAMPLER_EXPECTS(n > 0 && m > 0, "w2_1d: empty sample (n = " << n << ", m = " << m << ")");
  FLOWSAMPLER_EXPECTS(n < (std::size_t(1) << 32) && m < (std::size_t(1) << 32), "w2_1d: samples above 2^32 points");
  if (n == m) {
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += (u[i] - v[i]) * (u[i] - v[i]);
    return s / static_cast<double>(n);
  }
  // Quantile q runs over (0, 1) in units of 1 / (n m): u's i-th atom covers
  // [i m, (i + 1) m), v's j-th [j n, (j + 1) n); exact integer breakpoints.
  const std::uint64_t N = n, M = m;
  std::uint64_t q = 0, i = 0, j = 0;
  double s = 0;
  while (i < N && j < M) {
    const std::uint64_t end = std::min((i + 1) * M, (j + 1) * N);
    s += static_cast<double>(end - q) * (u[i] - v[j]) * (u[i] - v[j]);
    q = end;
    if (q == (i + 1) * M) ++i;
    if (q == (j + 1) * N) ++j;
  }
  return s / (static_cast<double>(N) * static_cast<double>(M));
}

namespace {

void gemm(const float* A, std::size_t n, std::size_t d, const float* B, std::size_t p, float* C) {
  cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, int(n), int(p), int(d), 1.0f, A, int(n), B, int(d), 0.0f, C, int(n));
}
void gemm(const double* A, std::size_t n, std::size_t d, const double* B, std::size_t p, double* C) {
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, int(n), int(p), int(d), 1.0, A, int(n), B, int(d), 0.0, C, int(n));
}

// Host pointer to a cloud's data (device clouds are copied: the sort runs on the CPU for now).
template <class Real>
const Real* host_data(const ParticleSet<Real>& x, std::vector<Real>& staged) {
  if (x.memory() == Memory::host) return x.data();
  staged = x.to_host();
  return staged.data();
}

}  // namespace

template <class Real>
SlicedW2 sliced_w2(const Context& ctx, const ParticleSet<Real>& x, const ParticleSet<Real>& y, int projections,
                   std::uint64_t seed) {
  FLOWSAMPLER_EXPECTS(x.d() == y.d(), "sliced_w2: x has d = " << x.d() << ", y has d = " << y.d());
  FLOWSAMPLER_EXPECTS(x.n() > 0 && y.n() > 0, "sliced_w2: empty set (N = " << x.n() << ", M = " << y.n() << ")");
  FLOWSAMPLER_EXPECTS(projections >= 1, "sliced_w2: need at least 1 projection, got " << projections);
  FLOWSAMPLER_EXPECTS(x.n() < (std::size_t(1) << 31) && y.n() < (std::size_t(1) << 31), "sliced_w2: more than 2^31 points");
  const std::size_t n = x.n(), m = y.n(), d = x.d(), P = static_cast<std::size_t>(projections);
  // Directions: normal draws of a fixed-seed stream, normalized (uniform on the sphere).
  Context dir_ctx = Context::create(Backend::cpu, seed, 1);
  ParticleSet<double> g(dir_ctx, P, d);
  fill_normal(dir_ctx, g);
  std::vector<Real> theta(d * P);  // d x P column-major
  for (std::size_t p = 0; p < P; ++p) {
    double norm = 0;
    for (std::size_t k = 0; k < d; ++k) norm += g.at(p, k) * g.at(p, k);
    norm = std::sqrt(norm);
    for (std::size_t k = 0; k < d; ++k) theta[p * d + k] = static_cast<Real>(g.at(p, k) / norm);
  }
  std::vector<Real> sx, sy;
  const Real* X = host_data(x, sx);
  const Real* Y = host_data(y, sy);
  // Directions in batches: the projections take (N + M) x batch values.
  const std::size_t batch = std::max<std::size_t>(1, std::min<std::size_t>(P, (std::size_t(64) << 20) / (sizeof(Real) * (n + m))));
  std::vector<Real> px(n * batch), py(m * batch);
  std::vector<double> per_direction(P);
  const int threads = ctx.threads();
  for (std::size_t p0 = 0; p0 < P; p0 += batch) {
    const std::size_t b = std::min(batch, P - p0);
    gemm(X, n, d, theta.data() + p0 * d, b, px.data());
    gemm(Y, m, d, theta.data() + p0 * d, b, py.data());
#pragma omp parallel num_threads(threads) if (b > 1)
    {
      std::vector<cpu::SortKey<Real>> scratch;
      std::vector<double> u, v;
#pragma omp for schedule(dynamic, 1)
      for (long long c = 0; c < static_cast<long long>(b); ++c) {
        Real* cx = px.data() + std::size_t(c) * n;
        Real* cy = py.data() + std::size_t(c) * m;
        cpu::radix_sort(cx, n, scratch);
        cpu::radix_sort(cy, m, scratch);
        u.assign(cx, cx + n);
        v.assign(cy, cy + m);
        per_direction[p0 + std::size_t(c)] = w2_squared_1d_sorted(u.data(), n, v.data(), m);
      }
    }
  }
  SlicedW2 r;
  r.projections = projections;
  for (double w : per_direction) r.w2_squared += w / double(P);
  if (P > 1) {
    double var = 0;
    for (double w : per_direction) var += (w - r.w2_squared) * (w - r.w2_squared) / double(P - 1);
    r.std_error = std::sqrt(var / double(P));
  }
  FLOWSAMPLER_EXPECTS(std::isfinite(r.w2_squared), "sliced_w2: the result is not finite (non-finite particles?)");
  return r;
}

template SlicedW2 sliced_w2<float>(const Context&, const ParticleSet<float>&, const ParticleSet<float>&, int, std::uint64_t);
template SlicedW2 sliced_w2<double>(const Context&, const ParticleSet<double>&, const ParticleSet<double>&, int,
                                    std::uint64_t);

}  // namespace flowsampler::metrics
