#include "flowsampler/metrics/map_distance.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "flowsampler/core/error.hpp"
#include "flowsampler/core/random.hpp"

namespace flowsampler::metrics {

namespace {

// |a_i - b_i| for every row, in double.
template <class Real>
std::vector<double> row_distances(const ParticleSet<Real>& a, const ParticleSet<Real>& b) {
  const std::vector<Real> ah = a.to_host(), bh = b.to_host();
  const std::size_t n = a.n(), d = a.d();
  std::vector<double> r(n, 0.0);
  for (std::size_t k = 0; k < d; ++k)
    for (std::size_t i = 0; i < n; ++i) r[i] += std::pow(double(ah[k * n + i]) - double(bh[k * n + i]), 2);
  for (double& v : r) v = std::sqrt(v);
  return r;
}

}  // namespace

template <class Real>
MapDistance map_distance(const Context&, const ParticleSet<Real>& a, const ParticleSet<Real>& b) {
  FLOWSAMPLER_EXPECTS(a.n() == b.n() && a.d() == b.d(), "map_distance: the images must pair up row by row, got "
                                                            << a.n() << " x " << a.d() << " and " << b.n() << " x " << b.d());
  FLOWSAMPLER_EXPECTS(a.n() > 0, "map_distance: empty sets");
  MapDistance r;
  double s = 0;
  for (double v : row_distances(a, b)) {
    s += v * v;
    r.max = std::max(r.max, v);
  }
  r.l2 = std::sqrt(s / double(a.n()));
  FLOWSAMPLER_EXPECTS(std::isfinite(r.l2), "map_distance: non-finite coordinates");
  return r;
}

template <class Real>
LipschitzEstimate lipschitz_estimate(const Context& ctx,
                                     const std::function<ParticleSet<Real>(const ParticleSet<Real>&)>& map,
                                     const ParticleSet<Real>& x, double h, std::uint64_t seed) {
  FLOWSAMPLER_EXPECTS(x.n() > 0, "lipschitz: empty set");
  FLOWSAMPLER_EXPECTS(std::isfinite(h) && h > 0, "lipschitz: the step h must be > 0, got " << h);
  const std::size_t n = x.n(), d = x.d();
  Context draw = Context::create(Backend::cpu, seed, 1);
  ParticleSet<double> u(draw, n, d);
  fill_normal(draw, u);
  std::vector<Real> xh = x.to_host();
  for (std::size_t i = 0; i < n; ++i) {
    double norm = 0;
    for (std::size_t k = 0; k < d; ++k) norm += u.at(i, k) * u.at(i, k);
    norm = std::sqrt(norm);
    for (std::size_t k = 0; k < d; ++k) xh[k * n + i] = static_cast<Real>(double(xh[k * n + i]) + h * u.at(i, k) / norm);
  }
  const ParticleSet<Real> moved = ParticleSet<Real>::from_column_major(ctx, xh.data(), n, d);
  const ParticleSet<Real> tx = map(x), tm = map(moved);
  FLOWSAMPLER_EXPECTS(tx.n() == n && tm.n() == n && tx.d() == tm.d(), "lipschitz: the map changed the number of particles");
  std::vector<double> ratio = row_distances(tx, tm);
  // The actual step after rounding the moved point to Real.
  const std::vector<Real> x0 = x.to_host();
  LipschitzEstimate r;
  for (std::size_t i = 0; i < n; ++i) {
    double step = 0;
    for (std::size_t k = 0; k < d; ++k) step += std::pow(double(xh[k * n + i]) - double(x0[k * n + i]), 2);
    ratio[i] /= std::sqrt(step);
    r.max = std::max(r.max, ratio[i]);
    r.mean += ratio[i] / double(n);
  }
  std::nth_element(ratio.begin(), ratio.begin() + static_cast<std::ptrdiff_t>(n / 2), ratio.end());
  r.median = ratio[n / 2];
  FLOWSAMPLER_EXPECTS(std::isfinite(r.max), "lipschitz: non-finite ratios (map output or step)");
  return r;
}

#define FLOWSAMPLER_INSTANTIATE(Real)                                                                          \
  template MapDistance map_distance<Real>(const Context&, const ParticleSet<Real>&, const ParticleSet<Real>&); \
  template LipschitzEstimate lipschitz_estimate<Real>(                                                         \
      const Context&, const std::function<ParticleSet<Real>(const ParticleSet<Real>&)>&, const ParticleSet<Real>&, \
      double, std::uint64_t);
FLOWSAMPLER_INSTANTIATE(float)
FLOWSAMPLER_INSTANTIATE(double)
#undef FLOWSAMPLER_INSTANTIATE

}  // namespace flowsampler::metrics
