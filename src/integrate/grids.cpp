#include "flowsampler/integrate/integrate.hpp"

#include <cmath>

#include "flowsampler/core/error.hpp"

namespace flowsampler::integrate {

Method parse_method(const std::string& name, const std::string& what) {
  return parse_name(method_names, name, what);
}

std::string to_string(Method m) { return name_of(method_names, m); }

std::vector<double> uniform_grid(double t0, double t1, int steps) {
  FLOWSAMPLER_EXPECTS(steps >= 1, "steps must be >= 1, got " << steps);
  FLOWSAMPLER_EXPECTS(std::isfinite(t0) && std::isfinite(t1) && t0 != t1,
                      "time grid: need finite t0 != t1, got " << t0 << ", " << t1);
  std::vector<double> g(static_cast<std::size_t>(steps) + 1);
  for (int k = 0; k <= steps; ++k) g[static_cast<std::size_t>(k)] = t0 + (t1 - t0) * k / steps;
  g.back() = t1;
  return g;
}

namespace {

// Grid uniform in g(t) = log(a^2 / b^2) (logsnr) or (b / a)^(1/rho) (karras),
// inverted by bisection; both are monotone in t on the built-in monotone paths.
std::vector<double> monotone_grid(const paths::Path& path, double t0, double t1, int steps,
                                  const std::function<double(double)>& g, const char* name) {
  std::vector<double> grid = uniform_grid(t0, t1, steps);
  // An end where a = 0 (pure noise) or b = 0 (the data) stays in the grid, but
  // the spacing starts 1e-3 (t1 - t0) inside it, where log-SNR and sigma are finite.
  auto finite_end = [&](double t, double toward) {
    const auto p = path.at(t);
    return p.a != 0 && p.b != 0 ? t : t + 1e-3 * (toward - t);
  };
  const double s0 = finite_end(t0, t1), s1 = finite_end(t1, t0);
  const double g0 = g(s0), g1 = g(s1);
  FLOWSAMPLER_EXPECTS(std::isfinite(g0) && std::isfinite(g1) && g0 != g1,
                      name << " grid on path '" << path.name() << "': its variable is not finite or not changing between t = "
                           << t0 << " and " << t1);
  // Monotone check on a fine sample.
  const bool up = g1 > g0;
  double prev = g0;
  for (int k = 1; k <= 256; ++k) {
    const double v = g(s0 + (s1 - s0) * k / 256.0);
    FLOWSAMPLER_EXPECTS(up ? v >= prev : v <= prev,
                        name << " grid: path '" << path.name() << "' is not monotone in it; use the uniform schedule");
    prev = v;
  }
  for (int k = 1; k < steps; ++k) {
    const double target = g0 + (g1 - g0) * k / steps;
    double lo = s0, hi = s1;  // g(lo) on g0's side
    for (int it = 0; it < 200; ++it) {
      const double mid = 0.5 * (lo + hi);
      ((g(mid) < target) == up ? lo : hi) = mid;
    }
    grid[static_cast<std::size_t>(k)] = 0.5 * (lo + hi);
  }
  return grid;
}

}  // namespace

std::vector<double> logsnr_grid(const paths::Path& path, double t0, double t1, int steps) {
  (void)uniform_grid(t0, t1, steps);  // argument checks
  return monotone_grid(path, t0, t1, steps, [&](double t) {
    const auto p = path.at(t);
    return 2 * (std::log(std::fabs(p.a)) - std::log(p.b));
  }, "log-SNR");
}

std::vector<double> karras_grid(const paths::Path& path, double t0, double t1, int steps, double rho) {
  (void)uniform_grid(t0, t1, steps);
  FLOWSAMPLER_EXPECTS(std::isfinite(rho) && rho > 0, "karras grid: rho must be > 0, got " << rho);
  return monotone_grid(path, t0, t1, steps, [&](double t) {
    const auto p = path.at(t);
    return std::pow(p.b / std::fabs(p.a), 1 / rho);
  }, "karras");
}

std::vector<double> make_grid(const std::string& schedule, const paths::Path& path, double t0, double t1, int steps) {
  if (schedule == "uniform") return uniform_grid(t0, t1, steps);
  if (schedule == "logsnr") return logsnr_grid(path, t0, t1, steps);
  if (schedule == "karras") return karras_grid(path, t0, t1, steps);
  FLOWSAMPLER_EXPECTS(false, "schedule: expected uniform, logsnr or karras, got '" << schedule << "'");
}

void validate_grid(const std::vector<double>& grid) {
  FLOWSAMPLER_EXPECTS(grid.size() >= 2, "time grid: need at least 2 times, got " << grid.size());
  const bool up = grid[1] > grid[0];
  for (std::size_t k = 0; k < grid.size(); ++k) {
    FLOWSAMPLER_EXPECTS(std::isfinite(grid[k]), "time grid: t[" << k << "] = " << grid[k] << " is not finite");
    if (k > 0)
      FLOWSAMPLER_EXPECTS(up ? grid[k] > grid[k - 1] : grid[k] < grid[k - 1],
                          "time grid: not strictly monotone at t[" << k << "] = " << grid[k]);
  }
}

void validate_grid(const std::vector<double>& grid, const paths::Path& path) {
  validate_grid(grid);
  for (std::size_t k = 0; k < grid.size(); ++k)
    FLOWSAMPLER_EXPECTS(grid[k] >= path.t_min() && grid[k] <= path.t_max(),
                        "time grid: t[" << k << "] = " << grid[k] << " is outside the domain [" << path.t_min()
                                        << ", " << path.t_max() << "] of path '" << path.name() << "'");
}

}  // namespace flowsampler::integrate
