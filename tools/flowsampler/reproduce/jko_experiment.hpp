#pragma once
// What the parts of `flowsampler reproduce jko-convergence` share: the
// Gaussian setting in which the exact JKO scheme of KL(. ‖ N(0, I)) is the
// Bures–Wasserstein matrix recursion (bures_step.hpp), the particle runs,
// and the Gaussian fits the checks compare.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "checks.hpp"
#include "flowsampler/core/context.hpp"
#include "flowsampler/jko/bures_step.hpp"
#include "flowsampler/jko/flow.hpp"
#include "flowsampler/jko/model.hpp"
#include "flowsampler/targets/gaussian_mixture.hpp"

namespace flowsampler::cli::reproduce::jko_repro {

/// The setting: data N(m0, S0) in d = 2, pi = N(0, I) (lambda = 1), step h.
/// m0 is large against S0 - I, so W2(rho_k, pi) is dominated by the mean,
/// which the exact scheme contracts by exactly (1 + h lambda)^-1 per step:
/// Theorem 4.3's rate is attained (sharp), not just bounded.
struct Setting {
  double h = 0.25, lambda = 1;
  std::size_t steps = 6;
  jko::Gaussian data{{3.0, -1.5}, {}};
  jko::Gaussian pi{{0.0, 0.0}, {1, 0, 0, 1}};
  Setting();
  targets::GaussianMixture data_law() const;
  targets::GaussianMixture target() const;
};

/// The Gaussian fit (mean, covariance normalized by N) of a cloud.
jko::Gaussian fit(const Context& ctx, const ParticleSet<double>& x);

/// Deep copies of the first `count` clouds (all when count exceeds their number).
std::vector<ParticleSet<double>> copies(const Context& ctx, const std::vector<ParticleSet<double>>& x, std::size_t count = ~std::size_t(0));

/// ||S - R||_F / ||R||_F.
double relative_cov_error(const jko::Gaussian& a, const jko::Gaussian& ref);
/// tr S / tr R - 1 (signed: < 0 is under-dispersion).
double trace_bias(const jko::Gaussian& a, const jko::Gaussian& ref);

/// The particle JKO flow (keeping the clouds) from x0 with estimator `est`.
struct Run {
  jko::FlowResult<double> flow;
  std::vector<ParticleSet<double>> clouds;  ///< X_0..X_K
  std::vector<jko::Gaussian> fits;          ///< their Gaussian fits
  std::vector<jko::Gaussian> bures;         ///< the exact BW-JKO sequence from fits[0]
  double seconds = 0;
};
Run run_particles(const Context& ctx, const Setting& s, jko::ScoreEstimator est, const ParticleSet<double>& x0,
                  std::size_t steps, std::uint64_t seed);

/// The seed's eps_k recomputed per particle (an independent cross-check of
/// StepRecord::eps_gaussian): rms_i |(X_{k+1,i} - X_{k,i}) / h + grad_W KL(N_{k+1})(X_{k+1,i})|,
/// N_{k+1} the Gaussian fit of X_{k+1}, the particle pairing standing for
/// the OT map (the step map is monotone). Host loop.
double paired_eps(const ParticleSet<double>& xk, const ParticleSet<double>& xk1, const jko::Gaussian& fit1,
                  const jko::Gaussian& pi, double h);

/// The estimator-bias table (estimator x n) against the exact BW-JKO
/// sequence, and the library default's replicates at n_ref; adds its checks.
struct Bias {
  nlohmann::json json;
  std::string markdown;
  std::size_t n_ref = 0;
  Run reference;  ///< the library default's first run at n_ref (the flow the other checks use)
};
Bias estimator_bias(const Options& o, const Setting& s, Checks& checks);

/// Corollary 5.2 / Lemma 5.1 (KL of the generated law), Corollary 5.3 and
/// Lemma C.1 (data without a density, OU smoothing), Proposition 5.4 /
/// Corollary 5.5 (inversion error on fresh points); adds their checks.
nlohmann::json generation(const Options& o, const Context& ctx, const Setting& s, const jko::JkoModel<double>& model,
                          Checks& checks, std::string& md);

}  // namespace flowsampler::cli::reproduce::jko_repro
