#include "flowsampler/paths/path.hpp"

#include <cmath>

#include "flowsampler/core/error.hpp"

namespace flowsampler::paths {

Path::Path(std::string name, Fn fn, double t_min, double t_max)
    : name_(std::move(name)), fn_(std::move(fn)), t_min_(t_min), t_max_(t_max) {
  FLOWSAMPLER_EXPECTS(fn_, "path '" << name_ << "': no function given");
  FLOWSAMPLER_EXPECTS(std::isfinite(t_min) && std::isfinite(t_max) && t_min < t_max,
                      "path '" << name_ << "': domain [" << t_min << ", " << t_max << "] is empty");
}

PathPoint Path::at(double t) const {
  FLOWSAMPLER_EXPECTS(t >= t_min_ && t <= t_max_,
                      "path '" << name_ << "': t = " << t << " is outside [" << t_min_ << ", " << t_max_ << "]");
  PathPoint p = fn_(t);
  if (std::isnan(p.b_db)) p.b_db = p.b * p.db;
  FLOWSAMPLER_EXPECTS(std::isfinite(p.a) && std::isfinite(p.b) && p.b >= 0 && std::isfinite(p.da) && std::isfinite(p.b_db),
                      "path '" << name_ << "': a(" << t << ") = " << p.a << ", b = " << p.b
                               << " (need finite a and b >= 0)");
  FLOWSAMPLER_EXPECTS(p.a != 0 || p.b != 0, "path '" << name_ << "': a and b are both 0 at t = " << t);
  return p;
}

bool Path::reaches_data_end() const { return fn_(t_max_).b == 0; }

Path make_path(const std::string& name, const PathOptions& o) {
  constexpr double half_pi = 1.5707963267948966;
  if (name == "linear") return Path(name, [](double t) { return PathPoint{t, 1 - t, 1, -1, -(1 - t)}; });
  if (name == "follmer")
    return Path(name, [](double t) {
      const double b = std::sqrt(std::max(0.0, 1 - t * t));
      return PathPoint{t, b, 1, b > 0 ? -t / b : -INFINITY, -t};
    });
  if (name == "cosine")
    return Path(name, [](double t) {
      // cos(pi t / 2) written as sin(pi (1 - t) / 2) so that b(1) is exactly 0.
      const double s = std::sin(half_pi * t), c = std::sin(half_pi * (1 - t));
      return PathPoint{s, c, half_pi * c, -half_pi * s, -half_pi * s * c};
    });
  if (name == "vp") {
    const double T = o.horizon;
    FLOWSAMPLER_EXPECTS(std::isfinite(T) && T > 0, "vp path: horizon must be finite and > 0, got " << T);
    return Path(name, [T](double t) {
      const double a = std::exp(-T * (1 - t)), b = std::sqrt(std::max(0.0, -std::expm1(-2 * T * (1 - t))));
      return PathPoint{a, b, T * a, b > 0 ? -T * a * a / b : -INFINITY, -T * a * a};
    });
  }
  if (name == "ve") {
    const double lo = o.sigma_min, hi = o.sigma_max;
    FLOWSAMPLER_EXPECTS(lo > 0 && hi > lo && std::isfinite(hi),
                        "ve path: need 0 < sigma_min < sigma_max, got " << lo << ", " << hi);
    return Path(name, [lo, hi](double t) {
      const double b = std::pow(hi, 1 - t) * std::pow(lo, t);
      return PathPoint{1, b, 0, b * std::log(lo / hi), b * b * std::log(lo / hi)};
    });
  }
  if (name == "overshoot") return Path(name, [](double t) { return PathPoint{t * (2 * t - 1), 1 - t, 4 * t - 1, -1, -(1 - t)}; });
  FLOWSAMPLER_EXPECTS(false, "path: expected linear, follmer, vp, cosine, ve or overshoot, got '" << name << "'");
}

}  // namespace flowsampler::paths
