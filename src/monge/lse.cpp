// The log-sum-exp potential: one softmax over the K affine pieces per point.
// A batch runs on the context's backend: the logits a_k . x_i and the
// pullbacks are GEMMs (theta's a block, K x d row-major, is a^T column-major
// with leading dimension d), the softmax per point a kernel
// (kernels/monge/lse.hpp); theta goes up once per call, its gradient down.
// The per-point tables (logits, weights, adjoints) are K x n, column i
// holding point i's K values: the softmax of a point reads one contiguous
// column (on the CPU a strided row of an n x K table costs a cache line per piece).
#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "core/launch.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/core/sizes.hpp"
#include "flowsampler/monge/potential.hpp"
#include "monge/lse.hpp"
#include "monge/ones.hpp"

namespace flowsampler::monge {

LogSumExpPotential::LogSumExpPotential(const PotentialSpec& spec) : spec_(spec) {
  const std::size_t d = spec.dim, K = spec.pieces;
  constexpr std::size_t max_extent = std::numeric_limits<int>::max();  // the GEMMs take int extents
  FLOWSAMPLER_EXPECTS(d >= 1 && d <= max_extent, "lse potential: dim must be in [1, " << max_extent << "], got " << d);
  FLOWSAMPLER_EXPECTS(K >= 1 && K <= max_extent, "lse potential: pieces must be in [1, " << max_extent << "], got " << K);
  FLOWSAMPLER_EXPECTS(std::isfinite(spec.s) && spec.s > 0, "lse potential: s must be > 0, got " << spec.s);
  FLOWSAMPLER_EXPECTS(spec.init == "identity", "lse potential: init must be 'identity', got '" << spec.init << "'");
  FLOWSAMPLER_EXPECTS(std::isfinite(spec.init_scale) && spec.init_scale > 0, "lse potential: init_scale must be > 0");
  const std::string what = "lse potential: parameter count";
  const std::size_t total = checked_add(checked_mul(K, d, what), K, what);
  expect_fits_in_memory(checked_mul(total, sizeof(double), what), "lse potential: " + std::to_string(total) + " parameters");
  theta_.assign(total, 0.0);
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

using flowsampler::detail::for_each;
using flowsampler::detail::gemm;

// The softmax weights p (K x n, column i for point i) of the logits
// (a_k . x_i + b_k) / s, p = a x^T first; with `value`, also s times their
// log-normalizers.
ParticleSet<double> softmax(const Context& ctx, const PotentialSpec& sp, const double* theta, const ParticleSet<double>& x,
                            ParticleSet<double>* value) {
  const int n = int(x.n()), d = int(sp.dim), K = int(sp.pieces);
  ParticleSet<double> p(ctx, sp.pieces, x.n());
  gemm(ctx, true, true, K, n, d, 1.0, theta, d, x.data(), n, 0.0, p.data(), K);
  for_each(ctx, x.n(),
           kernels::LseSoftmax{p.data(), value ? value->data() : nullptr, theta + sp.pieces * sp.dim, sp.s, sp.pieces});
  return p;
}

}  // namespace

ParticleSet<double> LogSumExpPotential::value(const Context& ctx, const ParticleSet<double>& x) const {
  expect_points(ctx, x);
  ParticleSet<double> out(ctx, x.n(), 1);
  if (x.n() == 0) return out;
  const Buffer<double> theta = params_on(ctx);
  softmax(ctx, spec_, theta.data(), x, &out);
  return out;
}

// T_i = sum_k p_ik a_k: T = p^T a.
ParticleSet<double> LogSumExpPotential::map(const Context& ctx, const ParticleSet<double>& x) const {
  expect_points(ctx, x);
  ParticleSet<double> T(ctx, x.n(), dim());
  if (x.n() == 0) return T;
  const Buffer<double> theta = params_on(ctx);
  const ParticleSet<double> p = softmax(ctx, spec_, theta.data(), x, nullptr);
  const int n = int(x.n()), d = int(dim()), K = int(spec_.pieces);
  gemm(ctx, true, true, n, d, K, 1.0, p.data(), K, theta.data(), d, 0.0, T.data(), n);
  return T;
}

// G = sum_i g_i . T_i with T = sum_k p_k a_k and dp_l/du_k = p_l (delta_lk - p_k):
// with r_ik = p_ik (g_i . a_k - g_i . T_i) / s,
// dG/da_k = sum_i p_ik g_i + r_ik x_i (g^T p^T + x^T r^T), dG/db_k = sum_i r_ik (r 1).
std::vector<double> LogSumExpPotential::map_vjp(const Context& ctx, const ParticleSet<double>& x,
                                                const ParticleSet<double>& g) const {
  expect_points(ctx, x, &g);
  if (x.n() == 0) return std::vector<double>(theta_.size(), 0.0);
  const Buffer<double> theta = params_on(ctx);
  const ParticleSet<double> p = softmax(ctx, spec_, theta.data(), x, nullptr);
  const int n = int(x.n()), d = int(dim()), K = int(spec_.pieces);
  ParticleSet<double> r(ctx, spec_.pieces, x.n());
  gemm(ctx, true, true, K, n, d, 1.0, theta.data(), d, g.data(), n, 0.0, r.data(), K);  // g_i . a_k
  for_each(ctx, x.n(), kernels::LseAdjoint{r.data(), p.data(), spec_.s, spec_.pieces});
  Buffer<double> grad(ctx, theta_.size());
  gemm(ctx, true, true, d, K, n, 1.0, g.data(), n, p.data(), K, 0.0, grad.data(), d);
  gemm(ctx, true, true, d, K, n, 1.0, x.data(), n, r.data(), K, 1.0, grad.data(), d);
  const ParticleSet<double> one = ones(ctx, x.n());
  gemm(ctx, false, false, K, 1, n, 1.0, r.data(), K, one.data(), n, 0.0, grad.data() + spec_.pieces * spec_.dim, K);
  std::vector<double> out(theta_.size());
  grad.copy_to_host(out.data());
  return out;
}

}  // namespace flowsampler::monge
