// The Gaussian setting of `reproduce jko-convergence` and its particle runs
// (see jko_experiment.hpp).
#include <Eigen/Dense>

#include <chrono>
#include <cmath>

#include "flowsampler/metrics/moments.hpp"
#include "jko_experiment.hpp"

namespace flowsampler::cli::reproduce::jko_repro {

namespace {
using Mat = Eigen::MatrixXd;
Mat mat(const std::vector<double>& v, std::size_t d) { return Eigen::Map<const Mat>(v.data(), Eigen::Index(d), Eigen::Index(d)); }
}  // namespace

Setting::Setting() {
  // S0 = R diag(2.5, 0.2) R^T, R a rotation by 30 degrees: anisotropic and
  // not aligned with the axes, so the covariance moves in both directions.
  const double turn = std::acos(-1.0) / 6, c = std::cos(turn), s = std::sin(turn), a = 2.5, b = 0.2;
  const double xx = c * c * a + s * s * b, yy = s * s * a + c * c * b, xy = c * s * (a - b);
  data.cov = {xx, xy, xy, yy};
}

targets::GaussianMixture Setting::data_law() const {
  targets::GaussianMixture g(2);
  g.add(1, data.mean, data.cov);
  return g;
}

targets::GaussianMixture Setting::target() const {
  targets::GaussianMixture g(2);
  g.add(1, pi.mean, pi.cov);
  return g;
}

jko::Gaussian fit(const Context& ctx, const ParticleSet<double>& x) {
  return jko::Gaussian{metrics::mean(ctx, x), metrics::covariance(ctx, x, false)};
}

std::vector<ParticleSet<double>> copies(const Context& ctx, const std::vector<ParticleSet<double>>& x, std::size_t count) {
  std::vector<ParticleSet<double>> out;
  for (std::size_t k = 0; k < x.size() && k < count; ++k) out.push_back(x[k].copy(ctx));
  return out;
}

double relative_cov_error(const jko::Gaussian& a, const jko::Gaussian& ref) {
  const std::size_t d = a.dim();
  return (mat(a.cov, d) - mat(ref.cov, d)).norm() / mat(ref.cov, d).norm();
}

double trace_bias(const jko::Gaussian& a, const jko::Gaussian& ref) {
  const std::size_t d = a.dim();
  return mat(a.cov, d).trace() / mat(ref.cov, d).trace() - 1;
}

Run run_particles(const Context& ctx, const Setting& s, jko::ScoreEstimator est, const ParticleSet<double>& x0,
                  std::size_t steps, std::uint64_t seed) {
  const auto t0 = std::chrono::steady_clock::now();
  jko::FlowOptions fo;
  fo.schedule = jko::StepSchedule::constant(s.h);
  fo.max_steps = steps;
  fo.diagnostic_points = 0;  // the checks use the Gaussian fits and exact moments, not kNN or MMD
  fo.lipschitz = false;
  fo.seed = seed;
  jko::ScoreOptions so;
  so.estimator = est;
  Run r;
  const auto model = jko::JkoModel<double>::train(ctx, s.target(), so, x0, fo, &r.flow);
  r.clouds = copies(ctx, model.clouds());
  for (const auto& x : r.clouds) r.fits.push_back(fit(ctx, x));
  r.bures = jko::bures_jko_sequence(r.fits.front(), s.pi, std::vector<double>(steps, s.h));
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

double paired_eps(const ParticleSet<double>& xk, const ParticleSet<double>& xk1, const jko::Gaussian& fit1,
                  const jko::Gaussian& pi, double h) {
  const std::size_t n = xk.n(), d = xk.d();
  const std::vector<double> a = xk.to_host(), b = xk1.to_host();
  const Mat Pn = mat(fit1.cov, d).inverse(), Pt = mat(pi.cov, d).inverse();
  const Eigen::VectorXd mn = Eigen::Map<const Eigen::VectorXd>(fit1.mean.data(), Eigen::Index(d));
  const Eigen::VectorXd mt = Eigen::Map<const Eigen::VectorXd>(pi.mean.data(), Eigen::Index(d));
  double s = 0;
  Eigen::VectorXd x(d), y(d);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t k = 0; k < d; ++k) x(Eigen::Index(k)) = a[k * n + i], y(Eigen::Index(k)) = b[k * n + i];
    s += ((y - x) / h + Pt * (y - mt) - Pn * (y - mn)).squaredNorm();
  }
  return std::sqrt(s / double(n));
}

}  // namespace flowsampler::cli::reproduce::jko_repro
