#include "flowsampler/jko/step.hpp"

#include <cmath>
#include <deque>
#include <limits>
#include <type_traits>
#include <vector>

#include "flowsampler/core/error.hpp"

namespace flowsampler::jko {

namespace {

double rms(const std::vector<double>& v, std::size_t n) {
  double s = 0;
  for (double e : v) s += e * e;
  return std::sqrt(s / double(n));
}

// Solves the small system (M + lambda I) g = b by Gaussian elimination with
// partial pivoting (M symmetric positive semi-definite, m <= 32).
std::vector<double> solve_small(std::vector<double> M, std::vector<double> b, std::size_t m) {
  double tr = 0;
  for (std::size_t i = 0; i < m; ++i) tr += M[i * m + i];
  for (std::size_t i = 0; i < m; ++i) M[i * m + i] += 1e-10 * tr / double(m) + 1e-300;
  for (std::size_t c = 0; c < m; ++c) {
    std::size_t p = c;
    for (std::size_t r = c + 1; r < m; ++r)
      if (std::abs(M[r * m + c]) > std::abs(M[p * m + c])) p = r;
    for (std::size_t k = 0; k < m; ++k) std::swap(M[c * m + k], M[p * m + k]);
    std::swap(b[c], b[p]);
    for (std::size_t r = c + 1; r < m; ++r) {
      const double f = M[r * m + c] / M[c * m + c];
      for (std::size_t k = c; k < m; ++k) M[r * m + k] -= f * M[c * m + k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> g(m);
  for (std::size_t c = m; c-- > 0;) {
    double s = b[c];
    for (std::size_t k = c + 1; k < m; ++k) s -= M[c * m + k] * g[k];
    g[c] = s / M[c * m + c];
  }
  return g;
}

template <class Real>
std::vector<double> host(const ParticleSet<Real>& x) {
  const std::vector<Real> h = x.to_host();
  return std::vector<double>(h.begin(), h.end());
}

template <class Real>
ParticleSet<Real> device(const Context& ctx, const std::vector<double>& v, std::size_t n, std::size_t d) {
  const std::vector<Real> r(v.begin(), v.end());
  return ParticleSet<Real>::from_column_major(ctx, r.data(), n, d);
}

}  // namespace

template <class Real>
double first_order_residual(const Context& ctx, const Objective<Real>& objective, const ParticleSet<Real>& x,
                            const ParticleSet<Real>& next, double h, const ScoreParams& params) {
  FLOWSAMPLER_EXPECTS(std::isfinite(h) && h > 0, "jko: the step h must be > 0, got " << h);
  FLOWSAMPLER_EXPECTS(x.n() == next.n() && x.d() == next.d(), "jko: the clouds must pair up, got " << x.n() << " x " << x.d()
                                                                  << " and " << next.n() << " x " << next.d());
  const std::vector<double> a = host(x), b = host(next), g = host(objective.gradient(ctx, next, next, params));
  std::vector<double> r(a.size());
  for (std::size_t e = 0; e < r.size(); ++e) r[e] = (b[e] - a[e]) / h + g[e];
  return rms(r, x.n());
}

template <class Real>
StepResult<Real> jko_step(const Context& ctx, const Objective<Real>& objective, const ParticleSet<Real>& x, double h,
                          const StepOptions& o) {
  FLOWSAMPLER_EXPECTS(std::isfinite(h) && h > 0, "jko: the step h must be > 0, got " << h);
  FLOWSAMPLER_EXPECTS(x.n() > 0, "jko: the cloud is empty");
  FLOWSAMPLER_EXPECTS(x.n() >= 2 || !objective.needs_score(), "jko: the score estimate needs at least 2 particles, got " << x.n());
  FLOWSAMPLER_EXPECTS(objective.dim() == 0 || x.d() == objective.dim(),
                      "jko: the cloud has d = " << x.d() << ", the objective (target) d = " << objective.dim());
  FLOWSAMPLER_EXPECTS(std::isfinite(o.tol) && o.tol >= 0, "jko: tol must be >= 0 (0: automatic), got " << o.tol);
  FLOWSAMPLER_EXPECTS(o.max_inner >= 1, "jko: max_inner must be >= 1, got " << o.max_inner);
  FLOWSAMPLER_EXPECTS(o.damping > 0 && o.damping <= 1, "jko: damping must be in (0, 1], got " << o.damping);
  FLOWSAMPLER_EXPECTS(o.anderson >= 0 && o.anderson <= 32, "jko: anderson memory must be in [0, 32], got " << o.anderson);
  const std::size_t n = x.n(), d = x.d(), len = n * d;
  StepResult<Real> out;
  out.score = objective.resolve(ctx, x);
  const std::vector<double> x0 = host(x);
  for (double v : x0) FLOWSAMPLER_EXPECTS(std::isfinite(v), "jko: the cloud has non-finite coordinates");

  // Residual r = (X - X_k) / h + G(X) and the fixed-point step f = -h r.
  auto residual = [&](std::vector<double>& X, std::vector<double>& f) {
    for (double& v : X) v = double(static_cast<Real>(v));  // the iterate as the cloud holds it: eps is exact for it
    const ParticleSet<Real> xs = device<Real>(ctx, X, n, d);
    const std::vector<double> g = host(objective.gradient(ctx, xs, xs, out.score));
    double s = 0;
    for (std::size_t e = 0; e < len; ++e) {
      const double r = (X[e] - x0[e]) / h + g[e];
      f[e] = -h * r;
      s += r * r;
    }
    ++out.inner;
    return std::sqrt(s / double(n));
  };

  std::vector<double> X = x0, f(len);
  const double eps0 = residual(X, f);  // = rms |G(X_k)|: f is the explicit step
  const double rel = std::is_same<Real, float>::value ? 1e-3 : 1e-7;
  out.tol = o.tol > 0 ? o.tol : rel * eps0;
  if (o.explicit_step) {
    for (std::size_t e = 0; e < len; ++e) X[e] += f[e];
    out.x = device<Real>(ctx, X, n, d);
    out.eps = first_order_residual(ctx, objective, x, out.x, h, out.score);
    out.inner = 0;
    return out;
  }
  double eps = eps0, best = eps0, w = o.damping;
  std::vector<double> Xbest = X, fbest = f;
  std::deque<std::vector<double>> dX, dF;  // Anderson differences of iterates and of f
  std::vector<double> Xprev, fprev;
  while (eps > out.tol && out.inner < o.max_inner) {
    // Next iterate: X + w f, corrected by Anderson mixing over the history.
    std::vector<double> next(len);
    for (std::size_t e = 0; e < len; ++e) next[e] = X[e] + w * f[e];
    const std::size_t m = dF.size();
    if (m > 0) {
      std::vector<double> M(m * m), b(m);
      for (std::size_t i = 0; i < m; ++i) {
        for (std::size_t j = 0; j <= i; ++j) {
          double s = 0;
          for (std::size_t e = 0; e < len; ++e) s += dF[i][e] * dF[j][e];
          M[i * m + j] = M[j * m + i] = s;
        }
        double s = 0;
        for (std::size_t e = 0; e < len; ++e) s += dF[i][e] * f[e];
        b[i] = s;
      }
      const std::vector<double> gam = solve_small(M, b, m);
      for (std::size_t i = 0; i < m; ++i)
        for (std::size_t e = 0; e < len; ++e) next[e] -= gam[i] * (dX[i][e] + w * dF[i][e]);
    }
    Xprev = std::move(X);
    fprev = f;
    X = std::move(next);
    eps = residual(X, f);
    if (std::isfinite(eps) && eps < best) {
      best = eps;
      Xbest = X;
      fbest = f;
    }
    if (o.adaptive && (!std::isfinite(eps) || eps > 2 * best)) {
      // Diverging: back to the best iterate, half the damping, fresh history.
      w *= 0.5;
      X = Xbest;
      f = fbest;
      eps = best;
      dX.clear();
      dF.clear();
      if (w < 1e-4) break;
      continue;
    }
    FLOWSAMPLER_EXPECTS(std::isfinite(eps), "jko: the inner iteration diverged (non-finite residual); try a smaller h or damping");
    if (o.anderson > 0) {
      std::vector<double> a(len), c(len);
      for (std::size_t e = 0; e < len; ++e) {
        a[e] = X[e] - Xprev[e];
        c[e] = f[e] - fprev[e];
      }
      dX.push_back(std::move(a));
      dF.push_back(std::move(c));
      if (dF.size() > std::size_t(o.anderson)) {
        dX.pop_front();
        dF.pop_front();
      }
    }
  }
  if (best < eps) {
    X = Xbest;
    eps = best;
  }
  out.x = device<Real>(ctx, X, n, d);
  out.eps = eps;
  out.converged = eps <= out.tol;
  return out;
}

template StepResult<float> jko_step<float>(const Context&, const Objective<float>&, const ParticleSet<float>&, double,
                                           const StepOptions&);
template StepResult<double> jko_step<double>(const Context&, const Objective<double>&, const ParticleSet<double>&, double,
                                             const StepOptions&);
template double first_order_residual<float>(const Context&, const Objective<float>&, const ParticleSet<float>&,
                                            const ParticleSet<float>&, double, const ScoreParams&);
template double first_order_residual<double>(const Context&, const Objective<double>&, const ParticleSet<double>&,
                                             const ParticleSet<double>&, double, const ScoreParams&);

}  // namespace flowsampler::jko
