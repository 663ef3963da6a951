// The input-convex network: forward pass, T = grad_x phi by reverse mode, and
// the parameter gradient of g . T(x) by reverse mode through the forward
// tangent pass (g . grad_x phi is the directional derivative of phi along g).
#include <cmath>
#include <random>

#include "flowsampler/core/error.hpp"
#include "flowsampler/monge/potential.hpp"
#include "monge/chunked_sum.hpp"

namespace flowsampler::monge {

namespace {

double softplus(double u) { return (u > 0 ? u : 0.0) + std::log1p(std::exp(-std::fabs(u))); }
double sigmoid(double u) {
  if (u >= 0) return 1 / (1 + std::exp(-u));
  const double e = std::exp(u);
  return e / (1 + e);
}

// Per-point workspace: pre-activations u, slopes s = softplus'(u), and for the
// tangent pass t = du along g; all layers stacked (offset off[l]).
struct Work {
  std::vector<double> u, z, s, t, zd;
  explicit Work(std::size_t total) : u(total), z(total), s(total), t(total), zd(total) {}
};

}  // namespace

IcnnPotential::IcnnPotential(const PotentialSpec& spec) : spec_(spec) {
  const std::size_t d = spec.dim, L = spec.widths.size();
  FLOWSAMPLER_EXPECTS(d >= 1, "icnn potential: dim must be >= 1");
  FLOWSAMPLER_EXPECTS(L >= 1, "icnn potential: needs at least one hidden layer");
  for (std::size_t l = 0; l < L; ++l)
    FLOWSAMPLER_EXPECTS(spec.widths[l] >= 1, "icnn potential: width of layer " << l + 1 << " must be >= 1");
  FLOWSAMPLER_EXPECTS(spec.init == "identity" || spec.init == "seed",
                      "icnn potential: init must be 'identity' or 'seed', got '" << spec.init << "'");
  FLOWSAMPLER_EXPECTS(spec.init != "identity" || spec.skip,
                      "icnn potential: init 'identity' needs the quadratic skip term (skip = true)");
  std::size_t off = 0;
  for (std::size_t l = 0; l < L; ++l) {
    const std::size_t W = spec.widths[l];
    lay_.A.push_back(off), off += W * d;
    lay_.b.push_back(off), off += W;
    lay_.B.push_back(off), off += l ? W * spec.widths[l - 1] : 0;
  }
  lay_.w = off, off += spec.widths[L - 1];
  lay_.q = off, off += spec.skip ? 1 : 0;
  lay_.v = off, off += spec.skip ? d : 0;
  lay_.total = off;
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

// Forward pass at point i (and, when g is given, the tangent pass along g_i).
void forward(const std::vector<double>& th, const PotentialSpec& sp, const IcnnPotential::Layout& lay,
             const std::vector<std::size_t>& off, const double* x, const double* g, std::size_t n, std::size_t i,
             Work& w) {
  const std::size_t d = sp.dim;
  for (std::size_t l = 0; l < sp.widths.size(); ++l) {
    const std::size_t W = sp.widths[l], o = off[l];
    for (std::size_t j = 0; j < W; ++j) {
      double u = th[lay.b[l] + j], t = 0;
      const double* A = th.data() + lay.A[l] + j * d;
      for (std::size_t c = 0; c < d; ++c) u += A[c] * x[c * n + i];
      if (g)
        for (std::size_t c = 0; c < d; ++c) t += A[c] * g[c * n + i];
      if (l) {
        const std::size_t Wp = sp.widths[l - 1], op = off[l - 1];
        const double* B = th.data() + lay.B[l] + j * Wp;
        for (std::size_t m = 0; m < Wp; ++m) u += B[m] * w.z[op + m];
        if (g)
          for (std::size_t m = 0; m < Wp; ++m) t += B[m] * w.zd[op + m];
      }
      w.u[o + j] = u;
      w.z[o + j] = softplus(u);
      w.s[o + j] = sigmoid(u);
      w.t[o + j] = t;
      w.zd[o + j] = w.s[o + j] * t;
    }
  }
}

std::vector<std::size_t> offsets(const PotentialSpec& sp, std::size_t* total) {
  std::vector<std::size_t> off(sp.widths.size());
  std::size_t o = 0;
  for (std::size_t l = 0; l < sp.widths.size(); ++l) off[l] = o, o += sp.widths[l];
  *total = o;
  return off;
}

}  // namespace

std::vector<double> IcnnPotential::value(const double* x, std::size_t n) const {
  std::size_t total = 0;
  const auto off = offsets(spec_, &total);
  const std::size_t d = spec_.dim, L = spec_.widths.size();
  std::vector<double> out(n);
#pragma omp parallel if (n >= detail::kParallelPoints)
  {
    Work w(total);
#pragma omp for schedule(static)
    for (std::ptrdiff_t ii = 0; ii < std::ptrdiff_t(n); ++ii) {
      const std::size_t i = std::size_t(ii);
      forward(theta_, spec_, lay_, off, x, nullptr, n, i, w);
      double phi = 0;
      for (std::size_t j = 0; j < spec_.widths[L - 1]; ++j) phi += theta_[lay_.w + j] * w.z[off[L - 1] + j];
      if (spec_.skip)
        for (std::size_t c = 0; c < d; ++c) {
          const double xc = x[c * n + i];
          phi += 0.5 * theta_[lay_.q] * xc * xc + theta_[lay_.v + c] * xc;
        }
      out[i] = phi;
    }
  }
  return out;
}

// T = q x + v + sum_l A_l^T delta_l, delta_L = w * s_L, delta_{l-1} = s_{l-1} * (B_l^T delta_l).
std::vector<double> IcnnPotential::map(const double* x, std::size_t n) const {
  std::size_t total = 0;
  const auto off = offsets(spec_, &total);
  const std::size_t d = spec_.dim, L = spec_.widths.size();
  std::vector<double> out(n * d);
#pragma omp parallel if (n >= detail::kParallelPoints)
  {
    Work w(total);
    std::vector<double> delta(total), T(d);
#pragma omp for schedule(static)
    for (std::ptrdiff_t ii = 0; ii < std::ptrdiff_t(n); ++ii) {
      const std::size_t i = std::size_t(ii);
      forward(theta_, spec_, lay_, off, x, nullptr, n, i, w);
      for (std::size_t c = 0; c < d; ++c) T[c] = spec_.skip ? theta_[lay_.q] * x[c * n + i] + theta_[lay_.v + c] : 0.0;
      for (std::size_t j = 0; j < spec_.widths[L - 1]; ++j) delta[off[L - 1] + j] = theta_[lay_.w + j] * w.s[off[L - 1] + j];
      for (std::size_t l = L; l-- > 0;) {
        const std::size_t W = spec_.widths[l], o = off[l];
        for (std::size_t j = 0; j < W; ++j) {
          const double* A = theta_.data() + lay_.A[l] + j * d;
          for (std::size_t c = 0; c < d; ++c) T[c] += A[c] * delta[o + j];
        }
        if (l) {
          const std::size_t Wp = spec_.widths[l - 1], op = off[l - 1];
          for (std::size_t m = 0; m < Wp; ++m) delta[op + m] = 0;
          for (std::size_t j = 0; j < W; ++j) {
            const double* B = theta_.data() + lay_.B[l] + j * Wp;
            for (std::size_t m = 0; m < Wp; ++m) delta[op + m] += B[m] * delta[o + j];
          }
          for (std::size_t m = 0; m < Wp; ++m) delta[op + m] *= w.s[op + m];
        }
      }
      for (std::size_t c = 0; c < d; ++c) out[c * n + i] = T[c];
    }
  }
  return out;
}

// G = g . T(x) = w . zdot_L + q (x . g) + v . g, with the tangent pass
// t_l = B_l zdot_{l-1} + A_l g, zdot_l = s_l * t_l. Reverse mode over (u, t):
// adjoints zb (of z_l) and zdb (of zdot_l), starting from zb_L = 0, zdb_L = w;
// tb = zdb * s, ub = zb * s + zdb * t * s (1 - s) (softplus'' = s (1 - s)).
std::vector<double> IcnnPotential::map_vjp(const double* x, const double* g, std::size_t n) const {
  std::size_t total = 0;
  const auto off = offsets(spec_, &total);
  const std::size_t d = spec_.dim, L = spec_.widths.size();
  return detail::chunked_sum(n, theta_.size(), [&](std::size_t i0, std::size_t i1, double* acc) {
    Work w(total);
    std::vector<double> zb(total), zdb(total), ub(total), tb(total);
    for (std::size_t i = i0; i < i1; ++i) {
      forward(theta_, spec_, lay_, off, x, g, n, i, w);
      const std::size_t WL = spec_.widths[L - 1], oL = off[L - 1];
      for (std::size_t j = 0; j < WL; ++j) {
        acc[lay_.w + j] += w.zd[oL + j];
        zb[oL + j] = 0;
        zdb[oL + j] = theta_[lay_.w + j];
      }
      if (spec_.skip)
        for (std::size_t c = 0; c < d; ++c) {
          acc[lay_.q] += x[c * n + i] * g[c * n + i];
          acc[lay_.v + c] += g[c * n + i];
        }
      for (std::size_t l = L; l-- > 0;) {
        const std::size_t W = spec_.widths[l], o = off[l];
        for (std::size_t j = 0; j < W; ++j) {
          const double s = w.s[o + j];
          tb[o + j] = zdb[o + j] * s;
          ub[o + j] = zb[o + j] * s + zdb[o + j] * w.t[o + j] * s * (1 - s);
          double* gA = acc + lay_.A[l] + j * d;
          for (std::size_t c = 0; c < d; ++c) gA[c] += ub[o + j] * x[c * n + i] + tb[o + j] * g[c * n + i];
          acc[lay_.b[l] + j] += ub[o + j];
        }
        if (l) {
          const std::size_t Wp = spec_.widths[l - 1], op = off[l - 1];
          for (std::size_t m = 0; m < Wp; ++m) zb[op + m] = zdb[op + m] = 0;
          for (std::size_t j = 0; j < W; ++j) {
            const double* B = theta_.data() + lay_.B[l] + j * Wp;
            double* gB = acc + lay_.B[l] + j * Wp;
            for (std::size_t m = 0; m < Wp; ++m) {
              gB[m] += ub[o + j] * w.z[op + m] + tb[o + j] * w.zd[op + m];
              zb[op + m] += B[m] * ub[o + j];
              zdb[op + m] += B[m] * tb[o + j];
            }
          }
        }
      }
    }
  });
}

}  // namespace flowsampler::monge
