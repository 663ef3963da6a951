#include "flowsampler/integrate/integrate.hpp"

#include <cmath>

#include "flowsampler/core/error.hpp"

namespace flowsampler::integrate {

Method parse_method(const std::string& name, const std::string& what) {
  if (name == "euler") return Method::euler;
  if (name == "heun") return Method::heun;
  if (name == "midpoint") return Method::midpoint;
  if (name == "rk4") return Method::rk4;
  if (name == "ddim") return Method::ddim;
  if (name == "dpmpp2m") return Method::dpmpp2m;
  FLOWSAMPLER_EXPECTS(false, what << ": expected euler, heun, midpoint, rk4, ddim or dpmpp2m, got '" << name << "'");
}

std::string to_string(Method m) {
  switch (m) {
    case Method::euler: return "euler";
    case Method::heun: return "heun";
    case Method::midpoint: return "midpoint";
    case Method::rk4: return "rk4";
    case Method::ddim: return "ddim";
    case Method::dpmpp2m: return "dpmpp2m";
  }
  return "?";
}

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

void validate_grid(const std::vector<double>& grid, const paths::Path& path) {
  FLOWSAMPLER_EXPECTS(grid.size() >= 2, "time grid: need at least 2 times, got " << grid.size());
  const bool up = grid[1] > grid[0];
  for (std::size_t k = 0; k < grid.size(); ++k) {
    FLOWSAMPLER_EXPECTS(std::isfinite(grid[k]) && grid[k] >= path.t_min() && grid[k] <= path.t_max(),
                        "time grid: t[" << k << "] = " << grid[k] << " is outside the domain [" << path.t_min()
                                        << ", " << path.t_max() << "] of path '" << path.name() << "'");
    if (k > 0)
      FLOWSAMPLER_EXPECTS(up ? grid[k] > grid[k - 1] : grid[k] < grid[k - 1],
                          "time grid: not strictly monotone at t[" << k << "] = " << grid[k]);
  }
}

namespace {

// out = base + c * k, elementwise. Device sets round-trip through the host for
// now (a device axpy belongs with the integrators' CUDA work).
template <class Real>
ParticleSet<Real> axpy(const Context& ctx, const ParticleSet<Real>& base, const ParticleSet<Real>& k, double c) {
  if (base.memory() == Memory::host) {
    ParticleSet<Real> out(base.n(), base.d(), Memory::host);
    const Real* b = base.data();
    const Real* kk = k.data();
    Real* o = out.data();
    const Real cr = static_cast<Real>(c);
    const long long total = static_cast<long long>(base.size());
#pragma omp parallel for simd num_threads(ctx.threads()) if (total > 65536)
    for (long long e = 0; e < total; ++e) o[e] = b[e] + cr * kk[e];
    return out;
  }
  const std::vector<Real> kh = k.to_host();
  std::vector<Real> oh = base.to_host();
  for (std::size_t e = 0; e < oh.size(); ++e) oh[e] += static_cast<Real>(c * static_cast<double>(kh[e]));
  return ParticleSet<Real>::from_column_major(ctx, oh.data(), base.n(), base.d());
}

}  // namespace

template <class Real>
Report integrate(const Context& ctx, const fields::GmmField& field, const paths::Path& path, ParticleSet<Real>& z,
                 const std::vector<double>& grid, Method method,
                 const std::function<void(int, double, const ParticleSet<Real>&)>& on_step,
                 std::vector<double>* log_density) {
  validate_grid(grid, path);
  FLOWSAMPLER_EXPECTS(z.d() == field.dim(), "integrate: particles have d = " << z.d() << ", the field d = " << field.dim());
  const bool track = log_density != nullptr;
  FLOWSAMPLER_EXPECTS(!(track && (method == Method::ddim || method == Method::dpmpp2m)),
                      "integrate: the log-likelihood needs a velocity method (euler, heun, midpoint, rk4), not "
                          << to_string(method));
  ParticleSet<Real> D_prev;  // dpmpp2m: the previous step's denoiser
  double h_prev = 0;         // and its step in lambda = log(a / b)
  Report r;
  std::vector<double> none;
  std::vector<double>& ll = track ? *log_density : none;
  if (track) {
    fields::FieldRequest req;
    req.log_density = true;
    const std::vector<Real> l0 = field.evaluate(ctx, path.at(grid.front()), z, req).log_density.to_host();
    ll.assign(l0.begin(), l0.end());
  }
  // One stage: the velocity, and with tracking, ll += c * (-div v) for weight c.
  auto v = [&](double t, const ParticleSet<Real>& x, double c) {
    ++r.nfe;
    if (!track) return field.velocity(ctx, path.at(t), x);
    fields::FieldRequest req;
    req.velocity = req.divergence = true;
    auto f = field.evaluate(ctx, path.at(t), x, req);
    const std::vector<Real> dv = f.divergence.to_host();
    for (std::size_t i = 0; i < ll.size(); ++i) ll[i] -= c * static_cast<double>(dv[i]);
    return std::move(f.velocity);
  };
  for (std::size_t k = 0; k + 1 < grid.size(); ++k) {
    const double t = grid[k], h = grid[k + 1] - grid[k];
    switch (method) {
      case Method::euler: z = axpy(ctx, z, v(t, z, h), h); break;
      case Method::midpoint: z = axpy(ctx, z, v(t + h / 2, axpy(ctx, z, v(t, z, 0.0), h / 2), h), h); break;
      case Method::heun: {
        const auto k1 = v(t, z, h / 2);
        const auto k2 = v(t + h, axpy(ctx, z, k1, h), h / 2);
        z = axpy(ctx, axpy(ctx, z, k1, h / 2), k2, h / 2);
        break;
      }
      case Method::rk4: {
        const auto k1 = v(t, z, h / 6);
        const auto k2 = v(t + h / 2, axpy(ctx, z, k1, h / 2), h / 3);
        const auto k3 = v(t + h / 2, axpy(ctx, z, k2, h / 2), h / 3);
        const auto k4 = v(t + h, axpy(ctx, z, k3, h), h / 6);
        z = axpy(ctx, axpy(ctx, axpy(ctx, axpy(ctx, z, k1, h / 6), k2, h / 3), k3, h / 3), k4, h / 6);
        break;
      }
      case Method::ddim:
      case Method::dpmpp2m: {
        // z' = a(t') D + (b(t') / b(t)) (z - a(t) D), D the denoiser at t (ddim),
        // or for dpmpp2m D + (D - D_prev) / (2 r), r = h_prev / h with h the step
        // in lambda = log(a / b) (first order when there is no finite h_prev).
        const auto p = path.at(t), q = path.at(t + h);
        FLOWSAMPLER_EXPECTS(p.b > 0, to_string(method) << ": b(t) = 0 at t = " << t << "; the step divides by b(t)");
        fields::FieldRequest req;
        req.denoiser = true;
        ++r.nfe;
        auto D = field.evaluate(ctx, p, z, req).denoiser;
        const double lam_h = std::log(std::fabs(q.a) / q.b) - std::log(std::fabs(p.a) / p.b);
        const bool second_order = method == Method::dpmpp2m && D_prev.n() == z.n() && std::isfinite(h_prev) &&
                                  std::isfinite(lam_h) && h_prev != 0;
        ParticleSet<Real> corrected;
        if (second_order) {
          const double r2 = h_prev / lam_h;
          corrected = axpy(ctx, axpy(ctx, D, D, 1 / (2 * r2)), D_prev, -1 / (2 * r2));
        }
        const double c = q.b / p.b;
        ParticleSet<Real> scaled = axpy(ctx, z, z, c - 1.0);  // c z
        z = axpy(ctx, scaled, second_order ? corrected : D, q.a - c * p.a);
        D_prev = std::move(D);
        h_prev = lam_h;
        break;
      }
    }
    ++r.steps;
    if (on_step) on_step(static_cast<int>(k), grid[k + 1], z);
  }
  return r;
}

template <class Real>
Report integrate_sde(Context& ctx, const fields::GmmField& field, const paths::Path& path, ParticleSet<Real>& z,
                     const std::vector<double>& grid, double eta,
                     const std::function<void(int, double, const ParticleSet<Real>&)>& on_step) {
  validate_grid(grid, path);
  FLOWSAMPLER_EXPECTS(std::isfinite(eta) && eta >= 0, "sde: eta must be finite and >= 0, got " << eta);
  FLOWSAMPLER_EXPECTS(z.d() == field.dim(), "sde: particles have d = " << z.d() << ", the field d = " << field.dim());
  Report r;
  ParticleSet<Real> noise(ctx, z.n(), z.d());
  for (std::size_t k = 0; k + 1 < grid.size(); ++k) {
    const double t = grid[k], h = grid[k + 1] - grid[k];
    const auto p = path.at(t);
    FLOWSAMPLER_EXPECTS(eta == 0 || p.a != 0, "sde: a(t) = 0 at t = " << t
                                                  << ", where g^2 = 2 eta |b b' - b^2 a'/a| is infinite; start later "
                                                     "or use the vp path with a finite horizon");
    const double g2 = eta == 0 ? 0.0 : 2 * eta * std::fabs(p.b_db - p.b * p.b * p.da / p.a);
    fields::FieldRequest req;
    req.velocity = true;
    req.score = g2 > 0;
    ++r.nfe;
    auto f = field.evaluate(ctx, p, z, req);
    z = axpy(ctx, z, f.velocity, h);
    if (g2 > 0) {
      fill_normal(ctx, noise);
      z = axpy(ctx, axpy(ctx, z, f.score, 0.5 * g2 * h), noise, std::sqrt(g2 * std::fabs(h)));
    }
    ++r.steps;
    if (on_step) on_step(static_cast<int>(k), grid[k + 1], z);
  }
  return r;
}

template Report integrate_sde<float>(Context&, const fields::GmmField&, const paths::Path&, ParticleSet<float>&,
                                     const std::vector<double>&, double,
                                     const std::function<void(int, double, const ParticleSet<float>&)>&);
template Report integrate_sde<double>(Context&, const fields::GmmField&, const paths::Path&, ParticleSet<double>&,
                                      const std::vector<double>&, double,
                                      const std::function<void(int, double, const ParticleSet<double>&)>&);

template Report integrate<float>(const Context&, const fields::GmmField&, const paths::Path&, ParticleSet<float>&,
                                 const std::vector<double>&, Method,
                                 const std::function<void(int, double, const ParticleSet<float>&)>&,
                                 std::vector<double>*);
template Report integrate<double>(const Context&, const fields::GmmField&, const paths::Path&, ParticleSet<double>&,
                                  const std::vector<double>&, Method,
                                  const std::function<void(int, double, const ParticleSet<double>&)>&,
                                  std::vector<double>*);

}  // namespace flowsampler::integrate
