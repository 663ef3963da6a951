// The log-sum-exp potential: one softmax over the K affine pieces per point.
#include <algorithm>
#include <cmath>
#include <random>

#include "flowsampler/core/error.hpp"
#include "flowsampler/monge/potential.hpp"
#include "monge/chunked_sum.hpp"

namespace flowsampler::monge {

LogSumExpPotential::LogSumExpPotential(const PotentialSpec& spec) : spec_(spec) {
  const std::size_t d = spec.dim, K = spec.pieces;
  FLOWSAMPLER_EXPECTS(d >= 1, "lse potential: dim must be >= 1");
  FLOWSAMPLER_EXPECTS(K >= 1, "lse potential: pieces must be >= 1");
  FLOWSAMPLER_EXPECTS(std::isfinite(spec.s) && spec.s > 0, "lse potential: s must be > 0, got " << spec.s);
  FLOWSAMPLER_EXPECTS(spec.init == "identity", "lse potential: init must be 'identity', got '" << spec.init << "'");
  FLOWSAMPLER_EXPECTS(std::isfinite(spec.init_scale) && spec.init_scale > 0, "lse potential: init_scale must be > 0");
  theta_.assign(K * d + K, 0.0);
  // max_k (a_k . x - |a_k|^2 / 2) is |x|^2/2 up to the spacing of the a_k: T
  // starts as a soft nearest-anchor map, near x where the anchors are dense.
  std::mt19937_64 rng(spec.seed);
  std::normal_distribution<double> normal(0.0, spec.init_scale);
  for (std::size_t k = 0; k < K; ++k) {
    double sq = 0;
    for (std::size_t c = 0; c < d; ++c) {
      theta_[k * d + c] = normal(rng);
      sq += theta_[k * d + c] * theta_[k * d + c];
    }
    theta_[K * d + k] = -0.5 * sq;
  }
}

namespace {

// Softmax weights p_k of the logits (a_k . x + b_k) / s for point i; returns the log-normalizer.
double softmax_at(const std::vector<double>& th, std::size_t K, std::size_t d, double s, const double* x,
                  std::size_t n, std::size_t i, double* p) {
  double mx = -INFINITY;
  for (std::size_t k = 0; k < K; ++k) {
    double u = th[K * d + k];
    for (std::size_t c = 0; c < d; ++c) u += th[k * d + c] * x[c * n + i];
    p[k] = u / s;
    mx = std::max(mx, p[k]);
  }
  double sum = 0;
  for (std::size_t k = 0; k < K; ++k) sum += (p[k] = std::exp(p[k] - mx));
  for (std::size_t k = 0; k < K; ++k) p[k] /= sum;
  return mx + std::log(sum);
}

}  // namespace

std::vector<double> LogSumExpPotential::value(const double* x, std::size_t n) const {
  const std::size_t K = spec_.pieces, d = spec_.dim;
  std::vector<double> out(n);
#pragma omp parallel if (n >= detail::kParallelPoints)
  {
    std::vector<double> p(K);
#pragma omp for schedule(static)
    for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(n); ++i)
      out[i] = spec_.s * softmax_at(theta_, K, d, spec_.s, x, n, std::size_t(i), p.data());
  }
  return out;
}

std::vector<double> LogSumExpPotential::map(const double* x, std::size_t n) const {
  const std::size_t K = spec_.pieces, d = spec_.dim;
  std::vector<double> out(n * d, 0.0);
#pragma omp parallel if (n >= detail::kParallelPoints)
  {
    std::vector<double> p(K);
#pragma omp for schedule(static)
    for (std::ptrdiff_t ii = 0; ii < std::ptrdiff_t(n); ++ii) {
      const std::size_t i = std::size_t(ii);
      softmax_at(theta_, K, d, spec_.s, x, n, i, p.data());
      for (std::size_t c = 0; c < d; ++c) {
        double t = 0;
        for (std::size_t k = 0; k < K; ++k) t += p[k] * theta_[k * d + c];
        out[c * n + i] = t;
      }
    }
  }
  return out;
}

// G = g . T with T = sum_k p_k a_k and dp_l/du_k = p_l (delta_lk - p_k):
// dG/da_kc = p_k g_c + p_k (g . a_k - g . T) x_c / s, dG/db_k = p_k (g . a_k - g . T) / s.
std::vector<double> LogSumExpPotential::map_vjp(const double* x, const double* g, std::size_t n) const {
  const std::size_t K = spec_.pieces, d = spec_.dim;
  return detail::chunked_sum(n, theta_.size(), [&](std::size_t i0, std::size_t i1, double* acc) {
    std::vector<double> p(K), ga(K);
    for (std::size_t i = i0; i < i1; ++i) {
      softmax_at(theta_, K, d, spec_.s, x, n, i, p.data());
      double gT = 0;
      for (std::size_t k = 0; k < K; ++k) {
        ga[k] = 0;
        for (std::size_t c = 0; c < d; ++c) ga[k] += g[c * n + i] * theta_[k * d + c];
        gT += p[k] * ga[k];
      }
      for (std::size_t k = 0; k < K; ++k) {
        const double r = p[k] * (ga[k] - gT) / spec_.s;
        for (std::size_t c = 0; c < d; ++c) acc[k * d + c] += p[k] * g[c * n + i] + r * x[c * n + i];
        acc[K * d + k] += r;
      }
    }
  });
}

}  // namespace flowsampler::monge
