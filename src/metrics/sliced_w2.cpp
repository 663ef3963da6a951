#include "flowsampler/metrics/sliced_w2.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/launch.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/core/random.hpp"
#include "metrics/sliced_w2.hpp"

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

// Unit directions theta (d x P, column-major): normal draws of a fixed-seed
// stream on the host (P x d values, a small table), normalized (uniform on the sphere).
template <class Real>
std::vector<Real> directions(std::size_t d, std::size_t P, std::uint64_t seed) {
  Context dir_ctx = Context::create(Backend::cpu, seed, 1);
  ParticleSet<double> g(dir_ctx, P, d);
  fill_normal(dir_ctx, g);
  std::vector<Real> theta(d * P);
  for (std::size_t p = 0; p < P; ++p) {
    double norm = 0;
    for (std::size_t k = 0; k < d; ++k) norm += g.at(p, k) * g.at(p, k);
    norm = std::sqrt(norm);
    for (std::size_t k = 0; k < d; ++k) theta[p * d + k] = static_cast<Real>(g.at(p, k) / norm);
  }
  return theta;
}

}  // namespace

template <class Real>
SlicedW2 sliced_w2(const Context& ctx, const ParticleSet<Real>& x, const ParticleSet<Real>& y, int projections,
                   std::uint64_t seed) {
  FLOWSAMPLER_EXPECTS(x.d() == y.d(), "sliced_w2: x has d = " << x.d() << ", y has d = " << y.d());
  FLOWSAMPLER_EXPECTS(x.n() > 0 && y.n() > 0, "sliced_w2: empty set (N = " << x.n() << ", M = " << y.n() << ")");
  FLOWSAMPLER_EXPECTS(projections >= 1, "sliced_w2: need at least 1 projection, got " << projections);
  FLOWSAMPLER_EXPECTS(x.n() < (std::size_t(1) << 31) && y.n() < (std::size_t(1) << 31), "sliced_w2: more than 2^31 points");
  FLOWSAMPLER_EXPECTS(x.belongs_to(ctx) && y.belongs_to(ctx),
                      "sliced_w2: x and y must live in the memory of the " << to_string(ctx.backend()) << " context");
  const std::size_t n = x.n(), m = y.n(), d = x.d(), P = static_cast<std::size_t>(projections);
  const std::vector<Real> theta_host = directions<Real>(d, P, seed);
  Buffer<Real> theta(ctx, d * P);
  theta.copy_from_host(theta_host.data());  // the one upload: P x d values
  // Directions in batches: the projections of a batch, x's then y's columns
  // (n x b, then m x b), take (N + M) x batch values.
  const std::size_t batch = std::max<std::size_t>(1, std::min<std::size_t>(P, (std::size_t(64) << 20) / (sizeof(Real) * (n + m))));
  Buffer<Real> proj(ctx, (n + m) * batch);
  // The 1-D W2 reduction runs over the atoms of the larger sample (see kernels/metrics/sliced_w2.hpp).
  const bool x_long = n >= m;
  const double norm = n == m ? static_cast<double>(n) : static_cast<double>(n) * static_cast<double>(m);
  std::vector<double> per_direction;
  per_direction.reserve(P);
  for (std::size_t p0 = 0; p0 < P; p0 += batch) {
    const std::size_t b = std::min(batch, P - p0);
    Real* px = proj.data();
    Real* py = px + n * b;
    detail::gemm<Real>(ctx, false, false, int(n), int(b), int(d), 1, x.data(), int(n), theta.data() + p0 * d, int(d), 0, px, int(n));
    detail::gemm<Real>(ctx, false, false, int(m), int(b), int(d), 1, y.data(), int(m), theta.data() + p0 * d, int(d), 0, py, int(m));
    if (n == m) {
      detail::sort_segments(ctx, px, 2 * b, n);  // x's and y's columns are one run of 2b segments
    } else {
      detail::sort_segments(ctx, px, b, n);
      detail::sort_segments(ctx, py, b, m);
    }
    for (std::size_t c0 = 0; c0 < b; c0 += detail::reduce_max_width) {
      const int w = static_cast<int>(std::min<std::size_t>(detail::reduce_max_width, b - c0));
      const kernels::SortedW2<Real> f = x_long ? kernels::SortedW2<Real>{px, py, n, m, c0, w}
                                               : kernels::SortedW2<Real>{py, px, m, n, c0, w};
      for (double s : detail::reduce(ctx, std::max(n, m), w, f)) per_direction.push_back(s / norm);
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
