#include "flowsampler/metrics/knn.hpp"

#include <cmath>
#include <vector>

#include "flowsampler/core/error.hpp"
#include "flowsampler/pairwise/pairwise.hpp"

namespace flowsampler::metrics {

namespace {

double digamma(double x) {
  // Recurrence up to x >= 6, then the asymptotic series (error < 1e-12 there).
  double r = 0;
  while (x < 6) r -= 1 / x++;
  const double f = 1 / (x * x);
  return r + std::log(x) - 0.5 / x - f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))));
}

// log of the k-th nearest-neighbour distance of each x_i among `y`, skipping
// x_i itself when y is x (the neighbour with index i).
template <class Real>
std::vector<double> log_kth_distance(const Context& ctx, const ParticleSet<Real>& x, const ParticleSet<Real>& y, int k,
                                     bool self) {
  const int kk = self ? k + 1 : k;
  const auto r = pairwise::kmin_sqdist(ctx, x, y, kk);
  const std::vector<Real> d2 = r.dist2.to_host();
  std::vector<std::uint32_t> idx(r.index.size());
  r.index.copy_to_host(idx.data());
  const std::size_t n = x.n();
  std::vector<double> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    int seen = 0;
    double kth = 0;
    for (int c = 0; c < kk; ++c) {
      if (self && idx[std::size_t(c) * n + i] == i) continue;
      if (++seen == k) {
        kth = double(d2[std::size_t(c) * n + i]);
        break;
      }
    }
    if (seen < k) kth = double(d2[std::size_t(kk - 1) * n + i]);  // i was not among its own k + 1 (ties at 0)
    FLOWSAMPLER_EXPECTS(kth > 0, "knn: point " << i << " has " << k
                                               << " neighbours at distance 0 (duplicate points); the estimator needs distinct points");
    out[i] = 0.5 * std::log(kth);
  }
  return out;
}

template <class Real>
void expect_sizes(const ParticleSet<Real>& x, int k, const char* what) {
  FLOWSAMPLER_EXPECTS(k >= 1 && k <= 31, what << ": k must be in [1, 31], got " << k);
  FLOWSAMPLER_EXPECTS(x.n() > static_cast<std::size_t>(k), what << ": need more than k = " << k << " points, got " << x.n());
}

}  // namespace

template <class Real>
double knn_entropy(const Context& ctx, const ParticleSet<Real>& x, int k) {
  expect_sizes(x, k, "knn_entropy");
  const double n = double(x.n()), d = double(x.d());
  const std::vector<double> lr = log_kth_distance(ctx, x, x, k, true);
  double s = 0;
  for (double v : lr) s += v;
  const double log_unit_ball = 0.5 * d * std::log(M_PI) - std::lgamma(0.5 * d + 1);
  return digamma(n) - digamma(k) + log_unit_ball + d * s / n;
}

template <class Real>
double knn_kl_divergence(const Context& ctx, const ParticleSet<Real>& x, const ParticleSet<Real>& y, int k) {
  expect_sizes(x, k, "knn_kl");
  FLOWSAMPLER_EXPECTS(y.n() >= static_cast<std::size_t>(k), "knn_kl: y needs at least k = " << k << " points, got " << y.n());
  FLOWSAMPLER_EXPECTS(x.d() == y.d(), "knn_kl: x has d = " << x.d() << ", y has d = " << y.d());
  const std::vector<double> rho = log_kth_distance(ctx, x, x, k, true), nu = log_kth_distance(ctx, x, y, k, false);
  double s = 0;
  for (std::size_t i = 0; i < rho.size(); ++i) s += nu[i] - rho[i];
  const double n = double(x.n());
  return double(x.d()) * s / n + std::log(double(y.n()) / (n - 1));
}

#define FLOWSAMPLER_INSTANTIATE(Real)                                                 \
  template double knn_entropy<Real>(const Context&, const ParticleSet<Real>&, int); \
  template double knn_kl_divergence<Real>(const Context&, const ParticleSet<Real>&, const ParticleSet<Real>&, int);
FLOWSAMPLER_INSTANTIATE(float)
FLOWSAMPLER_INSTANTIATE(double)
#undef FLOWSAMPLER_INSTANTIATE

}  // namespace flowsampler::metrics
