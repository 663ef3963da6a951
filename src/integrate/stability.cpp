#include "flowsampler/integrate/stability.hpp"

#include <algorithm>
#include <cmath>

#include "flowsampler/core/error.hpp"
#include "integrate/tableau.hpp"

namespace flowsampler::integrate {

namespace {

// lambda(t) = d/dt log sigma(t) for the whitened variance s.
double rate(const paths::Path& path, double t, double s) {
  const paths::PathPoint p = path.at(t);
  const double b_db = std::isfinite(p.b_db) ? p.b_db : p.b * p.db;
  return (p.a * p.da * s + b_db) / (p.a * p.a * s + p.b * p.b);
}

double spread(const paths::Path& path, double t, double s) {
  const paths::PathPoint p = path.at(t);
  return std::sqrt(p.a * p.a * s + p.b * p.b);
}

}  // namespace

double stability_bound(Method method) {
  switch (method) {
    case Method::euler:
    case Method::heun:
    case Method::midpoint: return 2.0;
    case Method::rk4: return 2.785293563405282;  // where |R(z)| = 1 on the negative axis
    default: return 0.0;
  }
}

SpreadCheck check_spread(const targets::GaussianMixture& g, const paths::Path& path, const std::vector<double>& grid,
                         Method method) {
  FLOWSAMPLER_EXPECTS(stability_bound(method) > 0, "check_spread: " << to_string(method)
                                                   << " is an exponential step; only explicit methods are checked");
  validate_grid(grid, path);
  std::vector<double> variances;  // lambda depends on s alone: each distinct s once
  for (std::size_t k = 0; k < g.size(); ++k)
    for (double s : g.eigenvalues(k))
      if (s > 0) variances.push_back(s);
  std::sort(variances.begin(), variances.end());
  variances.erase(std::unique(variances.begin(), variances.end()), variances.end());

  const detail::Tableau& T = detail::tableau(method);
  const double bound = stability_bound(method);
  SpreadCheck c;
  std::vector<char> unstable(grid.size(), 0);
  for (double s : variances) {
    // log |numerical / exact|: the numerical factors' logs summed over the
    // steps (products of many factors overflow), less the exact factor's,
    // log sigma(end) - log sigma(start). Its sign does not matter to the law:
    // an unstable step that flips the offsets over mirrors a symmetric
    // component onto itself.
    double log_ratio = std::log(spread(path, grid.front(), s)) - std::log(spread(path, grid.back(), s));
    for (std::size_t k = 0; k + 1 < grid.size(); ++k) {
      const double t = grid[k], h = grid[k + 1] - t;
      double kv[4] = {0, 0, 0, 0}, y = 1;
      for (int st = 0; st < T.stages; ++st) {
        double ys = 1;
        for (int j = 0; j < st; ++j) ys += h * T.a[st][j] * kv[j];
        const double lambda = rate(path, t + T.c[st] * h, s);
        kv[st] = lambda * ys;
        if (h * lambda < c.worst_step_rate) c.worst_step_rate = h * lambda, c.worst_t = t;
        if (h * lambda < -bound) unstable[k] = 1;
      }
      for (int st = 0; st < T.stages; ++st) y += h * T.b[st] * kv[st];
      log_ratio += std::log(std::fabs(y));
    }
    // ||ratio| - 1|; log_ratio = -inf (the offset vanished) gives 1, +inf gives
    // inf, and NaN (steps that overflowed and others that vanished) inf.
    const double err = std::isnan(log_ratio) ? INFINITY : std::fabs(std::expm1(log_ratio));
    if (err > c.spread_error) c.spread_error = err, c.variance = s;
  }
  c.unstable_steps = static_cast<int>(std::count(unstable.begin(), unstable.end(), 1));
  return c;
}

}  // namespace flowsampler::integrate
