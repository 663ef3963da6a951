#pragma once
/// \file Interpolation paths Z_t = a(t) X + b(t) Y (DESIGN.md section 5).
///
/// Generation time t in [0, 1]: t = 0 is the noise end, t = 1 the data end.
#include <cmath>
#include <functional>
#include <string>

namespace flowsampler::paths {

/// a(t), b(t), their derivatives, and b b' at one time. b b' stays finite
/// where b' does not (follmer and vp at t = 1); the score form of the
/// velocity uses it. Left NaN by a user path, it is filled in as b * db.
struct PathPoint {
  double a = 0, b = 1, da = 0, db = 0, b_db = NAN;
};

/// A named path. The built-in ones (make_path) and user paths given by a functor.
class Path {
 public:
  using Fn = std::function<PathPoint(double)>;
  /// A user-defined path: `fn(t)` returns a, b, a', b' on [t_min, t_max].
  /// `name` appears in reports.
  Path(std::string name, Fn fn, double t_min = 0.0, double t_max = 1.0);

  /// a, b, a', b' at t; Error when t is outside [t_min, t_max] or a and b are
  /// both 0 there.
  PathPoint at(double t) const;
  const std::string& name() const { return name_; }
  double t_min() const { return t_min_; }
  double t_max() const { return t_max_; }
  /// Where the path is singular for a target without density (Dirac atoms):
  /// b(t) = 0 there, so empirical targets need t <= 1 - delta.
  bool reaches_data_end() const;

 private:
  std::string name_;
  Fn fn_;
  double t_min_, t_max_;
};

/// Parameters of the built-in paths.
struct PathOptions {
  double horizon = 5.0;     ///< vp: T in a = exp(-T (1 - t))
  double sigma_min = 0.01;  ///< ve
  double sigma_max = 80.0;  ///< ve
};

/// "linear", "follmer", "vp", "cosine", "ve", "overshoot"; Error otherwise.
Path make_path(const std::string& name, const PathOptions& options = {});

}  // namespace flowsampler::paths
