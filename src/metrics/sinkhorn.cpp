#include "flowsampler/metrics/sinkhorn.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "flowsampler/core/error.hpp"
#include "flowsampler/pairwise/pairwise.hpp"

namespace flowsampler::metrics {

namespace {

// One side's soft-min c-transform and its row statistics.
template <class Real>
struct Transform {
  std::vector<double> potential;  // -eps lse_i: the c-transform of the other side's potential
  std::vector<double> mean_cost;  // softmax-weighted mean of C_ij over j
};

// T(h)_i = -eps log sum_j w_j exp((h_j - C_ij) / eps) over the points `to`.
template <class Real>
Transform<Real> c_transform(const Context& ctx, const ParticleSet<Real>& from, const ParticleSet<Real>& to,
                            const std::vector<double>& h, double eps) {
  const std::size_t m = to.n();
  std::vector<Real> lw(m);
  const double log_w = -std::log(static_cast<double>(m));
  for (std::size_t j = 0; j < m; ++j) lw[j] = static_cast<Real>(log_w + h[j] / eps);
  const ParticleSet<Real> lw_set = ParticleSet<Real>::from_column_major(ctx, lw.data(), m, 1);
  const auto r = pairwise::softmin_sqdist(ctx, eps, from, to, lw_set);
  const std::vector<Real> lse = r.lse.to_host(), mc = r.mean.to_host();
  Transform<Real> t;
  t.potential.resize(from.n());
  t.mean_cost.assign(mc.begin(), mc.end());
  for (std::size_t i = 0; i < from.n(); ++i) t.potential[i] = -eps * static_cast<double>(lse[i]);
  return t;
}

// |P 1 - a|_1 for potentials f whose fresh c-transform (from g) is f_new:
// row i of the plan has mass a_i exp((f_i - f_new_i) / eps).
double marginal_error(const std::vector<double>& f, const std::vector<double>& f_new, double eps) {
  double e = 0;
  for (std::size_t i = 0; i < f.size(); ++i) e += std::fabs(std::expm1((f[i] - f_new[i]) / eps));
  return e / static_cast<double>(f.size());
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

// Squared diameter of the bounding box of both clouds (host copies).
template <class Real>
double squared_diameter(const std::vector<Real>& x, std::size_t n, const std::vector<Real>& y, std::size_t m,
                        std::size_t d) {
  double s = 0;
  for (std::size_t k = 0; k < d; ++k) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (std::size_t i = 0; i < n; ++i) lo = std::min(lo, double(x[k * n + i])), hi = std::max(hi, double(x[k * n + i]));
    for (std::size_t j = 0; j < m; ++j) lo = std::min(lo, double(y[k * m + j])), hi = std::max(hi, double(y[k * m + j]));
    s += (hi - lo) * (hi - lo);
  }
  return s;
}

struct Schedule {
  std::vector<double> eps;  // decreasing, ending at the target
};

Schedule eps_schedule(double diameter2, const SinkhornOptions& o) {
  Schedule s;
  for (double e = std::max(diameter2, o.eps); e > o.eps; e *= o.scaling) s.eps.push_back(e);
  s.eps.push_back(o.eps);
  return s;
}

// OT_eps(a, a): the symmetric fixed point p = T(p), averaged updates
// p <- (p + T(p)) / 2 (they converge where plain ones oscillate); OT = 2 <a, p>.
std::vector<double> host(const ParticleSet<double>& p) { return p.to_host(); }
ParticleSet<double> device(const Context& ctx, const std::vector<double>& v) {
  return ParticleSet<double>::from_column_major(ctx, v.data(), v.size(), 1);
}

template <class Real>
std::vector<double> symmetric_potential(const Context& ctx, const ParticleSet<Real>& x, const Schedule& s,
                                        const SinkhornOptions& o) {
  std::vector<double> p(x.n(), 0.0);
  for (std::size_t k = 0; k < s.eps.size(); ++k) {
    const bool last = k + 1 == s.eps.size();
    for (int it = 0; it < (last ? o.max_iter : 1); ++it) {
      const auto t = c_transform(ctx, x, x, p, s.eps[k]);
      const double err = marginal_error(p, t.potential, s.eps[k]);
      for (std::size_t i = 0; i < p.size(); ++i) p[i] = 0.5 * (p[i] + t.potential[i]);
      if (last && err < o.tol) return p;
    }
  }
  FLOWSAMPLER_EXPECTS(false, "sinkhorn: the symmetric problem did not converge in " << o.max_iter
                                                                                     << " iterations at eps = " << o.eps
                                                                                     << "; raise max_iter or tol");
}

template <class Real>
ParticleSet<Real> shifted(const Context& ctx, const std::vector<Real>& cols, std::size_t n, std::size_t d,
                          const std::vector<double>& shift) {
  std::vector<Real> c(cols);
  for (std::size_t k = 0; k < d; ++k)
    for (std::size_t i = 0; i < n; ++i) c[k * n + i] = static_cast<Real>(double(cols[k * n + i]) - shift[k]);
  return ParticleSet<Real>::from_column_major(ctx, c.data(), n, d);
}

}  // namespace

template <class Real>
SinkhornResult sinkhorn(const Context& ctx, const ParticleSet<Real>& x_in, const ParticleSet<Real>& y_in,
                        const SinkhornOptions& o) {
  FLOWSAMPLER_EXPECTS(x_in.d() == y_in.d(), "sinkhorn: x has d = " << x_in.d() << ", y has d = " << y_in.d());
  FLOWSAMPLER_EXPECTS(x_in.n() > 0 && y_in.n() > 0, "sinkhorn: empty set (N = " << x_in.n() << ", M = " << y_in.n() << ")");
  FLOWSAMPLER_EXPECTS(std::isfinite(o.eps) && o.eps > 0, "sinkhorn: eps must be finite and > 0, got " << o.eps);
  FLOWSAMPLER_EXPECTS(o.scaling > 0 && o.scaling < 1, "sinkhorn: scaling must be in (0, 1), got " << o.scaling);
  FLOWSAMPLER_EXPECTS(o.tol > 0 && o.max_iter >= 1, "sinkhorn: need tol > 0 and max_iter >= 1");
  FLOWSAMPLER_EXPECTS(o.relaxation >= 1 && o.relaxation < 2, "sinkhorn: relaxation must be in [1, 2), got " << o.relaxation);
  const std::size_t n = x_in.n(), m = y_in.n(), d = x_in.d();
  const std::vector<Real> xh = x_in.to_host(), yh = y_in.to_host();
  for (Real v : xh) FLOWSAMPLER_EXPECTS(std::isfinite(double(v)), "sinkhorn: x has a non-finite coordinate");
  for (Real v : yh) FLOWSAMPLER_EXPECTS(std::isfinite(double(v)), "sinkhorn: y has a non-finite coordinate");
  // The cost is translation invariant: centre on x's mean so that float
  // coordinates keep their digits for the distances.
  std::vector<double> centre(d, 0.0);
  for (std::size_t k = 0; k < d; ++k) {
    for (std::size_t i = 0; i < n; ++i) centre[k] += double(xh[k * n + i]);
    centre[k] /= double(n);
  }
  const ParticleSet<Real> x = shifted(ctx, xh, n, d, centre), y = shifted(ctx, yh, m, d, centre);
  const Schedule s = eps_schedule(squared_diameter(xh, n, yh, m, d), o);
  SinkhornResult r;
  r.stages = static_cast<int>(s.eps.size());
  std::vector<double> f(n, 0.0), g(m, 0.0);
  Transform<Real> tf;  // the latest transform of g onto x
  bool converged = false;
  double w = o.relaxation, best_error = std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; k < s.eps.size() && !converged; ++k) {
    const double eps = s.eps[k];
    const bool last = k + 1 == s.eps.size();
    tf = c_transform(ctx, x, y, g, eps);
    for (int it = 0; it < (last ? o.max_iter : 1); ++it) {
      const double wk = last ? w : 1.0;
      for (std::size_t i = 0; i < n; ++i) f[i] = (1 - wk) * f[i] + wk * tf.potential[i];
      const auto tg = c_transform(ctx, y, x, f, eps).potential;
      for (std::size_t j = 0; j < m; ++j) g[j] = (1 - wk) * g[j] + wk * tg[j];
      tf = c_transform(ctx, x, y, g, eps);  // the next f, and the row marginals of (f, g)
      if (last) {
        ++r.iterations;
        r.marginal_error = marginal_error(f, tf.potential, eps);
        if (r.marginal_error < o.tol) {
          converged = true;
          break;
        }
        // Over-relaxation is only locally convergent: should the error grow
        // well past its best, fall back to plain (monotone) Sinkhorn updates.
        best_error = std::min(best_error, r.marginal_error);
        if (r.marginal_error > 4 * best_error) w = 1.0;
      }
    }
  }
  FLOWSAMPLER_EXPECTS(converged, "sinkhorn: not converged in " << o.max_iter << " iterations at eps = " << o.eps
                                                               << " (marginal error " << r.marginal_error
                                                               << "); raise max_iter or tol, or a larger eps");
  // <P, C> = sum_i a_i exp((f_i - T(g)_i) / eps) * (mean cost of row i).
  for (std::size_t i = 0; i < n; ++i)
    r.cost += std::exp((f[i] - tf.potential[i]) / o.eps) * tf.mean_cost[i] / double(n);
  r.ot = mean(f) + mean(g);
  r.divergence = o.debias ? r.ot - (mean(symmetric_potential(ctx, x, s, o)) + mean(symmetric_potential(ctx, y, s, o)))
                          : std::numeric_limits<double>::quiet_NaN();
  r.f = device(ctx, f);
  r.g = device(ctx, g);
  return r;
}

template <class Real>
ParticleSet<double> sinkhorn_self_potential(const Context& ctx, const ParticleSet<Real>& x_in, const SinkhornOptions& o) {
  FLOWSAMPLER_EXPECTS(x_in.n() > 0, "sinkhorn_self: empty set");
  FLOWSAMPLER_EXPECTS(std::isfinite(o.eps) && o.eps > 0, "sinkhorn_self: eps must be finite and > 0, got " << o.eps);
  FLOWSAMPLER_EXPECTS(o.tol > 0 && o.max_iter >= 1, "sinkhorn_self: need tol > 0 and max_iter >= 1");
  const std::size_t n = x_in.n(), d = x_in.d();
  const std::vector<Real> xh = x_in.to_host();
  std::vector<double> centre(d, 0.0);
  for (std::size_t k = 0; k < d; ++k) {
    for (std::size_t i = 0; i < n; ++i) centre[k] += double(xh[k * n + i]);
    centre[k] /= double(n);
  }
  const ParticleSet<Real> x = shifted(ctx, xh, n, d, centre);
  return device(ctx, symmetric_potential(ctx, x, eps_schedule(squared_diameter(xh, n, xh, n, d), o), o));
}

template <class Real>
ParticleSet<Real> barycentric_projection(const Context& ctx, const ParticleSet<Real>& x, const ParticleSet<Real>& y,
                                         const ParticleSet<double>& g_dev, double eps) {
  FLOWSAMPLER_EXPECTS(g_dev.n() == y.n() && g_dev.d() == 1, "barycentric_projection: g needs M = " << y.n() << " values, got " << g_dev.n() << " x " << g_dev.d());
  const std::vector<double> g = host(g_dev);
  FLOWSAMPLER_EXPECTS(std::isfinite(eps) && eps > 0, "barycentric_projection: eps must be > 0, got " << eps);
  std::vector<Real> lw(y.n());
  for (std::size_t j = 0; j < y.n(); ++j) lw[j] = static_cast<Real>(g[j] / eps - std::log(double(y.n())));
  const ParticleSet<Real> lw_set = ParticleSet<Real>::from_column_major(ctx, lw.data(), y.n(), 1);
  // Softmax of -|x - y|^2 / eps + lw: the Gaussian mean shift with 2 s^2 = eps.
  std::vector<Real> t = pairwise::mean_shift(ctx, std::sqrt(eps / 2), x, y, &lw_set).mean.to_host();
  const std::vector<Real> xh = x.to_host();
  for (std::size_t e = 0; e < t.size(); ++e) t[e] += xh[e];
  return ParticleSet<Real>::from_column_major(ctx, t.data(), x.n(), x.d());
}

template ParticleSet<double> sinkhorn_self_potential<float>(const Context&, const ParticleSet<float>&, const SinkhornOptions&);
template ParticleSet<double> sinkhorn_self_potential<double>(const Context&, const ParticleSet<double>&, const SinkhornOptions&);
template ParticleSet<float> barycentric_projection<float>(const Context&, const ParticleSet<float>&, const ParticleSet<float>&,
                                                          const ParticleSet<double>&, double);
template ParticleSet<double> barycentric_projection<double>(const Context&, const ParticleSet<double>&,
                                                            const ParticleSet<double>&, const ParticleSet<double>&, double);
template SinkhornResult sinkhorn<float>(const Context&, const ParticleSet<float>&, const ParticleSet<float>&,
                                        const SinkhornOptions&);
template SinkhornResult sinkhorn<double>(const Context&, const ParticleSet<double>&, const ParticleSet<double>&,
                                         const SinkhornOptions&);

}  // namespace flowsampler::metrics
