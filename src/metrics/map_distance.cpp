#include "flowsampler/metrics/map_distance.hpp"

#include <cmath>
#include <utility>

#include "core/launch.hpp"
#include "flowsampler/core/error.hpp"
#include "metrics/rows.hpp"

namespace flowsampler::metrics {

namespace {

template <class Real>
void expect_on(const Context& ctx, const ParticleSet<Real>& x, const char* what) {
  FLOWSAMPLER_EXPECTS(x.belongs_to(ctx), what << " must live in the memory of the " << to_string(ctx.backend()) << " context");
}

// sum_i |a_i - b_i|^2 and max_i |a_i - b_i|^2 over paired rows: two scalar reads.
template <class Real>
std::pair<double, double> row_sqdist_sum_max(const Context& ctx, const ParticleSet<Real>& a, const ParticleSet<Real>& b) {
  const double sum = detail::reduce(ctx, a.n(), 2, kernels::RowSqDist<Real, false>{a.data(), b.data(), a.n(), a.d()})[0];
  const double max = detail::reduce(ctx, a.n(), 1, kernels::RowSqDist<Real, true>{a.data(), b.data(), a.n(), a.d()})[0];
  return {sum, max};
}

}  // namespace

template <class Real>
MapDistance map_distance(const Context& ctx, const ParticleSet<Real>& a, const ParticleSet<Real>& b) {
  FLOWSAMPLER_EXPECTS(a.n() == b.n() && a.d() == b.d(), "map_distance: the images must pair up row by row, got "
                                                            << a.n() << " x " << a.d() << " and " << b.n() << " x " << b.d());
  FLOWSAMPLER_EXPECTS(a.n() > 0, "map_distance: empty sets");
  expect_on(ctx, a, "map_distance: a");
  expect_on(ctx, b, "map_distance: b");
  const auto [sum, max] = row_sqdist_sum_max(ctx, a, b);
  MapDistance r;
  r.l2 = std::sqrt(sum / double(a.n()));
  r.max = std::sqrt(max);
  FLOWSAMPLER_EXPECTS(std::isfinite(r.l2), "map_distance: non-finite coordinates");
  return r;
}

template <class Real>
LipschitzEstimate lipschitz_estimate(const Context& ctx,
                                     const std::function<ParticleSet<Real>(const ParticleSet<Real>&)>& map,
                                     const ParticleSet<Real>& x, double h, std::uint64_t seed) {
  FLOWSAMPLER_EXPECTS(x.n() > 0, "lipschitz: empty set");
  FLOWSAMPLER_EXPECTS(std::isfinite(h) && h > 0, "lipschitz: the step h must be > 0, got " << h);
  expect_on(ctx, x, "lipschitz: x");
  const std::size_t n = x.n(), d = x.d();
  // Directions u_i: the first draw of a context seeded with `seed` (draw 0),
  // computed where the points are.
  ParticleSet<Real> moved(ctx, n, d);
  detail::for_each(ctx, n, kernels::FiniteDifferencePoints<Real>{moved.data(), x.data(), n, d, h, seed, 0});
  const ParticleSet<Real> tx = map(x), tm = map(moved);
  FLOWSAMPLER_EXPECTS(tx.n() == n && tm.n() == n && tx.d() == tm.d(), "lipschitz: the map changed the number of particles");
  expect_on(ctx, tx, "lipschitz: the map's output");
  expect_on(ctx, tm, "lipschitz: the map's output");
  // The ratios over the actual step after rounding the moved point to Real.
  Buffer<double> ratio(ctx, n);
  detail::for_each(ctx, n, kernels::LipschitzRatio<Real>{ratio.data(), tx.data(), tm.data(), moved.data(), x.data(), n, d, tx.d()});
  LipschitzEstimate r;
  r.max = detail::reduce(ctx, n, 1, kernels::Values<true>{ratio.data(), 1.0})[0];
  FLOWSAMPLER_EXPECTS(std::isfinite(r.max), "lipschitz: non-finite ratios (map output or step)");
  r.mean = detail::reduce(ctx, n, 1, kernels::Values<false>{ratio.data(), double(n)})[0];
  // The median: sort the ratios on the device and read the middle one.
  detail::sort_segments(ctx, ratio.data(), 1, n);
  r.median = detail::reduce(ctx, 1, 1, kernels::Values<false>{ratio.data() + n / 2, 1.0})[0];
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
