// The input-convex network: forward pass, T = grad_x phi by reverse mode, and
// the parameter gradient of g . T(x) by reverse mode through the forward
// tangent pass (g . grad_x phi is the directional derivative of phi along g).
// A batch runs layer by layer on the context's backend: the affine maps are
// GEMMs on n x W activations (column-major), the rest elementwise kernels
// (kernels/monge/icnn.hpp); theta goes up once per call, its gradient down.
//
// theta's blocks read as column-major matrices: A_l (W x d, row-major) is
// A_l^T with leading dimension d, B_l (W x W', row-major) is B_l^T with
// leading dimension W'. So U_l = X A_l^T is gemm(N, N) with that block, and
// the pullbacks delta A_l, delta B_l are gemm(N, T).
#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "core/launch.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/core/sizes.hpp"
#include "flowsampler/monge/potential.hpp"
#include "monge/icnn.hpp"
#include "monge/ones.hpp"

namespace flowsampler::monge {

IcnnPotential::IcnnPotential(const PotentialSpec& spec) : spec_(spec) {
  const std::size_t d = spec.dim, L = spec.widths.size();
  constexpr std::size_t max_extent = std::numeric_limits<int>::max();  // the GEMMs take int extents
  FLOWSAMPLER_EXPECTS(d >= 1 && d <= max_extent, "icnn potential: dim must be in [1, " << max_extent << "], got " << d);
  FLOWSAMPLER_EXPECTS(L >= 1, "icnn potential: needs at least one hidden layer");
  for (std::size_t l = 0; l < L; ++l)
    FLOWSAMPLER_EXPECTS(spec.widths[l] >= 1 && spec.widths[l] <= max_extent,
                        "icnn potential: width of layer " << l + 1 << " must be in [1, " << max_extent << "], got "
                                                          << spec.widths[l]);
  FLOWSAMPLER_EXPECTS(spec.init == "identity" || spec.init == "seed",
                      "icnn potential: init must be 'identity' or 'seed', got '" << spec.init << "'");
  FLOWSAMPLER_EXPECTS(spec.init != "identity" || spec.skip,
                      "icnn potential: init 'identity' needs the quadratic skip term (skip = true)");
  // Widths and dim come from options and map files: every offset is checked.
  const std::string what = "icnn potential: parameter count";
  std::size_t off = 0;
  for (std::size_t l = 0; l < L; ++l) {
    const std::size_t W = spec.widths[l];
    lay_.A.push_back(off), off = checked_add(off, checked_mul(W, d, what), what);
    lay_.b.push_back(off), off = checked_add(off, W, what);
    lay_.B.push_back(off), off = checked_add(off, l ? checked_mul(W, spec.widths[l - 1], what) : 0, what);
  }
  lay_.w = off, off = checked_add(off, spec.widths[L - 1], what);
  lay_.q = off, off = checked_add(off, spec.skip ? 1 : 0, what);
  lay_.v = off, off = checked_add(off, spec.skip ? d : 0, what);
  lay_.total = off;
  expect_fits_in_memory(checked_mul(off, sizeof(double), what), "icnn potential: " + std::to_string(off) + " parameters");
  theta_.assign(off, 0.0);

  std::mt19937_64 rng(spec.seed);
  auto uniform = [&](double r) { return std::uniform_real_distribution<double>(-r, r)(rng); };
  std::normal_distribution<double> normal(0.0, 1.0);
  const double WL = double(spec.widths[L - 1]);
  for (std::size_t l = 0; l < L; ++l) {
    const std::size_t W = spec.widths[l], Wp = l ? spec.widths[l - 1] : 0;
    if (spec.init == "seed") {
      // torch.nn.Linear: U(+-1/sqrt(fan_in)) for weight and bias; the seed's
      // hidden and output weights are redrawn N(0, 0.1) and clamped at 0.
      const double fin = l ? double(Wp) : double(d);
      for (std::size_t j = 0; j < W * d; ++j) theta_[lay_.A[l] + j] = uniform(1 / std::sqrt(double(d)));
      for (std::size_t j = 0; j < W; ++j) theta_[lay_.b[l] + j] = uniform(1 / std::sqrt(fin));
      for (std::size_t j = 0; j < W * Wp; ++j) theta_[lay_.B[l] + j] = 0.1 * normal(rng);
    } else {
      for (std::size_t j = 0; j < W * d; ++j) theta_[lay_.A[l] + j] = normal(rng) / std::sqrt(double(d));
      for (std::size_t j = 0; j < W; ++j) theta_[lay_.b[l] + j] = 0.5 * normal(rng);
      for (std::size_t j = 0; j < W * Wp; ++j) theta_[lay_.B[l] + j] = std::fabs(normal(rng)) / double(Wp);
    }
  }
  for (std::size_t j = 0; j < spec.widths[L - 1]; ++j)
    theta_[lay_.w + j] = spec.init == "seed" ? 0.1 * normal(rng) : 0.1 * std::fabs(normal(rng)) / WL;
  if (spec.skip) theta_[lay_.q] = spec.init == "identity" ? 1.0 : 0.0;
  project();
}

void IcnnPotential::project() {
  const std::size_t L = spec_.widths.size();
  for (std::size_t l = 1; l < L; ++l)
    for (std::size_t j = 0; j < spec_.widths[l] * spec_.widths[l - 1]; ++j)
      if (theta_[lay_.B[l] + j] < 0) theta_[lay_.B[l] + j] = 0;
  for (std::size_t j = 0; j < spec_.widths[L - 1]; ++j)
    if (theta_[lay_.w + j] < 0) theta_[lay_.w + j] = 0;
  if (spec_.skip && theta_[lay_.q] < 0) theta_[lay_.q] = 0;
}

namespace {

using flowsampler::detail::for_each;
using flowsampler::detail::gemm;

// The activations of a batch, per layer (n x W_l each): z = softplus(u),
// s = softplus'(u), and for the tangent pass along g: t = du . g, zd = s t.
struct Activations {
  std::vector<ParticleSet<double>> z, s, t, zd;
};

class Network {
 public:
  Network(const Context& ctx, const PotentialSpec& sp, const IcnnPotential::Layout& lay, const double* theta)
      : ctx_(ctx), sp_(sp), lay_(lay), th_(theta) {}

  // u_l = x A_l^T + z_{l-1} B_l^T + b_l; with g, t_l = g A_l^T + zd_{l-1} B_l^T.
  Activations forward(const ParticleSet<double>& x, const ParticleSet<double>* g) const {
    const int n = int(x.n()), d = int(sp_.dim);
    Activations a;
    for (std::size_t l = 0; l < sp_.widths.size(); ++l) {
      const int W = int(sp_.widths[l]), Wp = l ? int(sp_.widths[l - 1]) : 0;
      ParticleSet<double> z(ctx_, x.n(), std::size_t(W)), s(ctx_, x.n(), std::size_t(W));
      gemm(ctx_, false, false, n, W, d, 1.0, x.data(), n, th_ + lay_.A[l], d, 0.0, z.data(), n);
      if (l) gemm(ctx_, false, false, n, W, Wp, 1.0, a.z[l - 1].data(), n, th_ + lay_.B[l], Wp, 1.0, z.data(), n);
      for_each(ctx_, z.size(), kernels::IcnnActivate{z.data(), s.data(), th_ + lay_.b[l], x.n()});
      if (g) {
        ParticleSet<double> t(ctx_, x.n(), std::size_t(W)), zd(ctx_, x.n(), std::size_t(W));
        gemm(ctx_, false, false, n, W, d, 1.0, g->data(), n, th_ + lay_.A[l], d, 0.0, t.data(), n);
        if (l) gemm(ctx_, false, false, n, W, Wp, 1.0, a.zd[l - 1].data(), n, th_ + lay_.B[l], Wp, 1.0, t.data(), n);
        for_each(ctx_, t.size(), kernels::Product{zd.data(), s.data(), t.data()});
        a.t.push_back(std::move(t));
        a.zd.push_back(std::move(zd));
      }
      a.z.push_back(std::move(z));
      a.s.push_back(std::move(s));
    }
    return a;
  }

  const double* at(std::size_t offset) const { return th_ + offset; }

 private:
  const Context& ctx_;
  const PotentialSpec& sp_;
  const IcnnPotential::Layout& lay_;
  const double* th_;
};

}  // namespace

ParticleSet<double> IcnnPotential::value(const Context& ctx, const ParticleSet<double>& x) const {
  expect_points(ctx, x);
  if (x.n() == 0) return ParticleSet<double>(ctx, 0, 1);
  const Buffer<double> theta = params_on(ctx);
  const Network net(ctx, spec_, lay_, theta.data());
  const Activations a = net.forward(x, nullptr);
  const int n = int(x.n()), WL = int(spec_.widths.back());
  ParticleSet<double> phi(ctx, x.n(), 1);
  gemm(ctx, false, false, n, 1, WL, 1.0, a.z.back().data(), n, net.at(lay_.w), WL, 0.0, phi.data(), n);
  if (spec_.skip) for_each(ctx, x.n(), kernels::SkipValue{phi.data(), x.data(), net.at(lay_.q), net.at(lay_.v), x.n(), dim()});
  return phi;
}

// T = q x + v + sum_l delta_l A_l, delta_L = w * s_L, delta_{l-1} = s_{l-1} * (delta_l B_l).
ParticleSet<double> IcnnPotential::map(const Context& ctx, const ParticleSet<double>& x) const {
  expect_points(ctx, x);
  if (x.n() == 0) return ParticleSet<double>(ctx, 0, dim());
  const Buffer<double> theta = params_on(ctx);
  const Network net(ctx, spec_, lay_, theta.data());
  const Activations a = net.forward(x, nullptr);
  const std::size_t L = spec_.widths.size();
  const int n = int(x.n()), d = int(dim());
  ParticleSet<double> T(ctx, x.n(), dim());
  if (spec_.skip) for_each(ctx, T.size(), kernels::SkipMap{T.data(), x.data(), net.at(lay_.q), net.at(lay_.v), x.n()});
  else for_each(ctx, T.size(), kernels::Fill<double>{T.data(), 0.0});
  ParticleSet<double> delta(ctx, x.n(), spec_.widths.back());
  for_each(ctx, delta.size(), kernels::ScaleColumns{delta.data(), net.at(lay_.w), a.s.back().data(), x.n()});
  for (std::size_t l = L; l-- > 0;) {
    const int W = int(spec_.widths[l]);
    gemm(ctx, false, true, n, d, W, 1.0, delta.data(), n, net.at(lay_.A[l]), d, 1.0, T.data(), n);
    if (l) {
      const int Wp = int(spec_.widths[l - 1]);
      ParticleSet<double> prev(ctx, x.n(), std::size_t(Wp));
      gemm(ctx, false, true, n, Wp, W, 1.0, delta.data(), n, net.at(lay_.B[l]), Wp, 0.0, prev.data(), n);
      for_each(ctx, prev.size(), kernels::Product{prev.data(), prev.data(), a.s[l - 1].data()});
      delta = std::move(prev);
    }
  }
  return T;
}

// G = sum_i g_i . T(x_i) = sum_i [w . zd_L + q (x_i . g_i) + v . g_i], with the
// tangent pass t_l = zd_{l-1} B_l^T + g A_l^T, zd_l = s_l t_l. Reverse mode
// over (u, t): adjoints zb (of z_l) and zdb (of zd_l), from zb_L = 0, zdb_L = w;
// tb = zdb s, ub = zb s + zdb t s (1 - s). Per layer the parameter gradients
// are sums over the batch, i.e. GEMMs with the batch as inner dimension:
// dA_l = ub^T x + tb^T g, db_l = ub^T 1, dB_l = ub^T z_{l-1} + tb^T zd_{l-1}.
std::vector<double> IcnnPotential::map_vjp(const Context& ctx, const ParticleSet<double>& x,
                                           const ParticleSet<double>& g) const {
  expect_points(ctx, x, &g);
  if (x.n() == 0) return std::vector<double>(theta_.size(), 0.0);
  const Buffer<double> theta = params_on(ctx);
  const Network net(ctx, spec_, lay_, theta.data());
  const Activations a = net.forward(x, &g);
  const std::size_t L = spec_.widths.size();
  const int n = int(x.n()), d = int(dim()), WL = int(spec_.widths.back());
  Buffer<double> grad(ctx, theta_.size());
  double* gr = grad.data();
  const ParticleSet<double> one = ones(ctx, x.n());
  gemm(ctx, true, false, WL, 1, n, 1.0, a.zd.back().data(), n, one.data(), n, 0.0, gr + lay_.w, WL);
  if (spec_.skip) {
    const int len = int(x.size());
    gemm(ctx, true, false, 1, 1, len, 1.0, x.data(), len, g.data(), len, 0.0, gr + lay_.q, 1);
    gemm(ctx, true, false, d, 1, n, 1.0, g.data(), n, one.data(), n, 0.0, gr + lay_.v, d);
  }
  ParticleSet<double> zb, zdb;  // empty at the top layer: zb = 0, zdb = w
  for (std::size_t l = L; l-- > 0;) {
    const int W = int(spec_.widths[l]);
    ParticleSet<double> ub(ctx, x.n(), std::size_t(W)), tb(ctx, x.n(), std::size_t(W));
    for_each(ctx, ub.size(),
             kernels::IcnnAdjoint{ub.data(), tb.data(), zb.size() ? zb.data() : nullptr, zdb.size() ? zdb.data() : nullptr,
                                  net.at(lay_.w), a.s[l].data(), a.t[l].data(), x.n()});
    gemm(ctx, true, false, d, W, n, 1.0, x.data(), n, ub.data(), n, 0.0, gr + lay_.A[l], d);
    gemm(ctx, true, false, d, W, n, 1.0, g.data(), n, tb.data(), n, 1.0, gr + lay_.A[l], d);
    gemm(ctx, true, false, W, 1, n, 1.0, ub.data(), n, one.data(), n, 0.0, gr + lay_.b[l], W);
    if (l) {
      const int Wp = int(spec_.widths[l - 1]);
      gemm(ctx, true, false, Wp, W, n, 1.0, a.z[l - 1].data(), n, ub.data(), n, 0.0, gr + lay_.B[l], Wp);
      gemm(ctx, true, false, Wp, W, n, 1.0, a.zd[l - 1].data(), n, tb.data(), n, 1.0, gr + lay_.B[l], Wp);
      ParticleSet<double> zb_prev(ctx, x.n(), std::size_t(Wp)), zdb_prev(ctx, x.n(), std::size_t(Wp));
      gemm(ctx, false, true, n, Wp, W, 1.0, ub.data(), n, net.at(lay_.B[l]), Wp, 0.0, zb_prev.data(), n);
      gemm(ctx, false, true, n, Wp, W, 1.0, tb.data(), n, net.at(lay_.B[l]), Wp, 0.0, zdb_prev.data(), n);
      zb = std::move(zb_prev);
      zdb = std::move(zdb_prev);
    }
  }
  std::vector<double> out(theta_.size());
  grad.copy_to_host(out.data());
  return out;
}

}  // namespace flowsampler::monge
