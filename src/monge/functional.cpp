#include "flowsampler/monge/functional.hpp"

#include <Eigen/Dense>
#include <cmath>
#include <iostream>
#include <vector>

#include "core/lincomb.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/fields/drifts.hpp"
#include "flowsampler/fields/gmm_field.hpp"
#include "flowsampler/fields/score_estimates.hpp"
#include "flowsampler/metrics/knn.hpp"
#include "flowsampler/metrics/mmd.hpp"
#include "flowsampler/metrics/moments.hpp"
#include "flowsampler/solvers/sinkhorn.hpp"

namespace flowsampler::monge {

namespace {

ParticleSet<double> negate(const Context& ctx, const ParticleSet<double>& v, double scale = -1.0) {
  return detail::lincomb(ctx, v, {}, scale);
}

void check_cloud(const ParticleSet<double>& y, std::size_t d, const std::string& who) {
  FLOWSAMPLER_EXPECTS(y.d() == d, who << ": points have d = " << y.d() << ", expected " << d);
  FLOWSAMPLER_EXPECTS(y.n() >= 2, who << ": need at least 2 points, got " << y.n());
}

class Kl final : public Functional {
 public:
  Kl(const targets::GaussianMixture& target, const KlOptions& o) : target_(target), field_(target), o_(o) {
    score_.estimator = o.score;
    score_.bandwidth = o.bandwidth;
    score_.ot_eps = o.ot_eps;
    score_.ot_tol = o.ot_tol;
  }
  std::string name() const override { return "kl"; }
  std::size_t dim() const override { return target_.dim(); }
  ParticleSet<double> wgrad(const Context& ctx, const ParticleSet<double>& y) const override {
    check_cloud(y, dim(), "kl functional");
    fields::FieldRequest r;
    r.score = true;
    const ParticleSet<double> target_score = field_.evaluate(ctx, paths::PathPoint{1, 0, 0, 0, 0}, y, r).score;
    // grad log mu, its parameters (bandwidth, eps) fixed on this batch.
    const ParticleSet<double> g = jko::score_estimate(ctx, jko::resolve_score(ctx, score_, y), y, y);
    return detail::lincomb(ctx, g, {{-1.0, &target_score}});     // + grad V = - score of pi
  }
  double value(const Context& ctx, const ParticleSet<double>& y) const override {
    check_cloud(y, dim(), "kl functional");
    if (y.n() <= std::size_t(o_.knn_k)) return NAN;
    fields::FieldRequest r;
    r.log_density = true;
    const double mean_lp = metrics::mean(ctx, field_.evaluate(ctx, paths::PathPoint{1, 0, 0, 0, 0}, y, r).log_density)[0];
    try {
      return -metrics::knn_entropy(ctx, y, o_.knn_k) - mean_lp;
    } catch (const Error&) {  // duplicate points: no entropy estimate
      return NAN;
    }
  }

 private:
  targets::GaussianMixture target_;
  fields::GmmField field_;
  KlOptions o_;
  jko::ScoreOptions score_;
};

class Mmd final : public Functional {
 public:
  Mmd(const Context& ctx, const ParticleSet<double>& nu, const pairwise::KernelSpec& k)
      : nu_(nu.copy(ctx)), kernel_(k) {
    FLOWSAMPLER_EXPECTS(nu.n() >= 1, "mmd functional: the target samples are empty");
    fields::DriftOptions fo;
    fo.kernel = k;
    drift_ = std::make_unique<fields::DriftField<double>>(ctx, fields::Drift::mmd, fo, &nu_);
  }
  std::string name() const override { return "mmd"; }
  std::size_t dim() const override { return nu_.d(); }
  ParticleSet<double> wgrad(const Context& ctx, const ParticleSet<double>& y) const override {
    check_cloud(y, dim(), "mmd functional");
    return negate(ctx, drift_->velocity(ctx, 0.0, y));
  }
  double value(const Context& ctx, const ParticleSet<double>& y) const override {
    check_cloud(y, dim(), "mmd functional");
    return 0.5 * metrics::mmd_squared(ctx, kernel_, y, nu_);
  }

 private:
  ParticleSet<double> nu_;
  pairwise::KernelSpec kernel_;
  std::unique_ptr<fields::DriftField<double>> drift_;
};

class SinkhornDivergence final : public Functional {
 public:
  SinkhornDivergence(const Context& ctx, const ParticleSet<double>& nu, double eps, double tol)
      : nu_(nu.copy(ctx)), eps_(eps), tol_(tol) {
    FLOWSAMPLER_EXPECTS(nu.n() >= 1, "sinkhorn functional: the target samples are empty");
    FLOWSAMPLER_EXPECTS(std::isfinite(eps) && eps >= 0, "sinkhorn functional: eps must be >= 0 (0: automatic), got " << eps);
    fields::DriftOptions fo;
    fo.ot_eps = eps;
    fo.ot_tol = tol;
    drift_ = std::make_unique<fields::DriftField<double>>(ctx, fields::Drift::sinkhorn, fo, &nu_);
  }
  std::string name() const override { return "sinkhorn"; }
  std::size_t dim() const override { return nu_.d(); }
  ParticleSet<double> wgrad(const Context& ctx, const ParticleSet<double>& y) const override {
    check_cloud(y, dim(), "sinkhorn functional");
    return negate(ctx, drift_->velocity(ctx, 0.0, y), -2.0);
  }
  double value(const Context& ctx, const ParticleSet<double>& y) const override {
    check_cloud(y, dim(), "sinkhorn functional");
    solvers::SinkhornOptions so;
    so.eps = eps_ > 0 ? eps_ : fields::default_ot_eps(ctx, y);
    so.tol = tol_;
    return solvers::sinkhorn(ctx, y, nu_, so).divergence;
  }

 private:
  ParticleSet<double> nu_;
  double eps_, tol_;
  std::unique_ptr<fields::DriftField<double>> drift_;
};

}  // namespace

double max_log_density_curvature(const targets::GaussianMixture& target, const ParticleSet<double>& points) {
  const std::size_t d = target.dim(), K = target.size(), n = points.n();
  FLOWSAMPLER_EXPECTS(points.d() == d, "log-concavity check: points have d = " << points.d() << ", target " << d);
  FLOWSAMPLER_EXPECTS(!target.has_atoms(), "log-concavity check: the target has Dirac atoms (no density)");
  const std::vector<double> w = target.weights();
  std::vector<Eigen::MatrixXd> P(K);
  std::vector<Eigen::VectorXd> m(K);
  std::vector<double> logc(K);
  for (std::size_t k = 0; k < K; ++k) {
    const std::vector<double> S = target.covariance(k);
    const Eigen::MatrixXd Sk = Eigen::Map<const Eigen::MatrixXd>(S.data(), Eigen::Index(d), Eigen::Index(d));
    const Eigen::LLT<Eigen::MatrixXd> llt(Sk);
    P[k] = llt.solve(Eigen::MatrixXd::Identity(Eigen::Index(d), Eigen::Index(d)));
    m[k] = Eigen::Map<const Eigen::VectorXd>(target.mean(k).data(), Eigen::Index(d));
    double logdet = 0;
    for (Eigen::Index c = 0; c < Eigen::Index(d); ++c) logdet += 2 * std::log(llt.matrixL()(c, c));
    logc[k] = std::log(w[k]) - 0.5 * logdet;
  }
  const std::vector<double> h = points.to_host();
  double worst = -INFINITY;
#pragma omp parallel for reduction(max : worst) schedule(static) if (n >= 1024)
  for (std::ptrdiff_t ii = 0; ii < std::ptrdiff_t(n); ++ii) {
    Eigen::VectorXd x(static_cast<Eigen::Index>(d));
    for (std::size_t c = 0; c < d; ++c) x(Eigen::Index(c)) = h[c * n + std::size_t(ii)];
    // H = sum_k r_k (g_k g_k^T - P_k) - gbar gbar^T, g_k = -P_k (x - m_k).
    std::vector<double> lr(K);
    std::vector<Eigen::VectorXd> g(K);
    double mx = -INFINITY;
    for (std::size_t k = 0; k < K; ++k) {
      g[k] = -P[k] * (x - m[k]);
      lr[k] = logc[k] - 0.5 * (x - m[k]).dot(P[k] * (x - m[k]));
      mx = std::max(mx, lr[k]);
    }
    double sum = 0;
    for (double& v : lr) sum += (v = std::exp(v - mx));
    Eigen::MatrixXd H = Eigen::MatrixXd::Zero(Eigen::Index(d), Eigen::Index(d));
    Eigen::VectorXd gbar = Eigen::VectorXd::Zero(Eigen::Index(d));
    for (std::size_t k = 0; k < K; ++k) {
      const double r = lr[k] / sum;
      H += r * (g[k] * g[k].transpose() - P[k]);
      gbar += r * g[k];
    }
    H -= gbar * gbar.transpose();
    const double top = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(H, Eigen::EigenvaluesOnly).eigenvalues().maxCoeff();
    worst = std::max(worst, top);
  }
  return worst;
}

std::unique_ptr<Functional> make_kl(Context& ctx, const targets::GaussianMixture& target, const KlOptions& o) {
  FLOWSAMPLER_EXPECTS(!target.has_atoms(), "kl functional: the target has Dirac atoms (no density, no KL)");
  FLOWSAMPLER_EXPECTS(target.size() >= 1, "kl functional: the target has no component");
  FLOWSAMPLER_EXPECTS(o.knn_k >= 1 && o.knn_k <= 31, "kl functional: knn_k must be in [1, 31], got " << o.knn_k);
  if (target.size() > 1 && o.check != LogConcaveCheck::skip) {
    FLOWSAMPLER_EXPECTS(o.check_points >= 1, "kl functional: check_points must be >= 1");
    // Target draws, plus points on the segments between component means:
    // where a multimodal mixture's log-density bends upward.
    const std::vector<double> draws = target.sample<double>(ctx, o.check_points).to_host();
    const std::size_t d = target.dim(), K = target.size(), ns = 9, extra = K * (K - 1) / 2 * ns;
    const std::size_t n = o.check_points + extra;
    std::vector<double> pts(n * d);
    for (std::size_t c = 0; c < d; ++c)
      for (std::size_t i = 0; i < o.check_points; ++i) pts[c * n + i] = draws[c * o.check_points + i];
    std::size_t row = o.check_points;
    for (std::size_t k = 0; k < K; ++k)
      for (std::size_t l = k + 1; l < K; ++l)
        for (std::size_t j = 1; j <= ns; ++j, ++row)
          for (std::size_t c = 0; c < d; ++c) {
            const double t = double(j) / double(ns + 1);
            pts[c * n + row] = (1 - t) * target.mean(k)[c] + t * target.mean(l)[c];
          }
    const double top = max_log_density_curvature(target, ParticleSet<double>::from_column_major(ctx, pts.data(), n, d));
    if (top > 1e-9) {
      std::ostringstream msg;
      msg << "kl functional: the target is not log-concave (the Hessian of log pi has eigenvalue " << top
          << " > 0 at one of " << o.check_points << " target draws or the segments between means); the constrained flow's convergence needs a"
          << " log-concave target";
      FLOWSAMPLER_EXPECTS(o.check != LogConcaveCheck::refuse, msg.str() << " (set the check to warn to proceed)");
      std::cerr << "warning: " << msg.str() << "\n";
    }
  }
  return std::make_unique<Kl>(target, o);
}

std::unique_ptr<Functional> make_mmd(const Context& ctx, const ParticleSet<double>& target_samples,
                                     const pairwise::KernelSpec& kernel) {
  return std::make_unique<Mmd>(ctx, target_samples, kernel);
}

std::unique_ptr<Functional> make_sinkhorn(const Context& ctx, const ParticleSet<double>& target_samples, double eps,
                                          double tol) {
  return std::make_unique<SinkhornDivergence>(ctx, target_samples, eps, tol);
}

}  // namespace flowsampler::monge
