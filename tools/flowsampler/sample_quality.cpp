#include "sample_quality.hpp"

#include <chrono>
#include <cmath>

#include "flowsampler/core/error.hpp"
#include "flowsampler/metrics/mmd.hpp"
#include "flowsampler/metrics/moments.hpp"
#include "flowsampler/metrics/sliced_w2.hpp"

namespace flowsampler::cli {

namespace {

// Two exact samples of k points differ by a sliced W2^2 of the order of the
// floor; across seeds the ratio of a correct sampler's figure to the floor
// stays within 0.5-1.4 (ring8, k = 16384), while an integrator error that
// moves the covariance by 18% gives 24-77. Below 1000 points the floor is
// too noisy to judge.
constexpr std::size_t min_points_to_judge = 1000;
constexpr double departure_ratio = 4, departure_std_errors = 6;

}  // namespace

template <class Real>
nlohmann::json sample_quality(const Context& ctx, const targets::GaussianMixture& law, const ParticleSet<Real>& z,
                              std::size_t subsample, int projections, std::uint64_t seed) {
  const auto start = std::chrono::steady_clock::now();
  const std::size_t d = z.d();
  const std::vector<double> m = targets::mixture_mean(law), C = targets::mixture_covariance(law);
  const std::vector<double> mh = metrics::mean(ctx, z);
  double mean_err = 0, cov_err = 0, cov_norm = 0, trace = 0;
  for (std::size_t a = 0; a < d; ++a) mean_err += (mh[a] - m[a]) * (mh[a] - m[a]);
  nlohmann::json j = {{"against", "the exact law at the end time (the target noised by a(t1), b(t1))"},
                      {"mean_error", std::sqrt(mean_err)}, {"moments_on", z.n()}};
  if (z.n() >= 2) {
    const std::vector<double> Ch = metrics::covariance(ctx, z);
    for (std::size_t e = 0; e < d * d; ++e) {
      cov_err += (Ch[e] - C[e]) * (Ch[e] - C[e]);
      cov_norm += C[e] * C[e];
    }
    j["covariance_error_frobenius"] = std::sqrt(cov_err);
    j["covariance_relative_error"] = std::sqrt(cov_err / cov_norm);
  }
  for (std::size_t a = 0; a < d; ++a) trace += C[a * d + a];
  const std::size_t k = std::min(subsample, z.n());
  if (k >= 2) {
    Context draw = ctx.derive(seed ^ Context::second_stream_salt);
    const ParticleSet<Real> sub = strided_rows(ctx, z, k);
    const ParticleSet<Real> fresh = law.sample<Real>(draw, k), fresh2 = law.sample<Real>(draw, k);
    const double h = std::sqrt(trace / double(d));
    const double mmd2 = metrics::mmd_squared(ctx, {pairwise::Kernel::gaussian, h}, sub, fresh, true);
    const auto sw = metrics::sliced_w2(ctx, sub, fresh, projections, seed);
    const auto floor = metrics::sliced_w2(ctx, fresh2, fresh, projections, seed);
    j["subsample"] = k;
    j["mmd2_unbiased"] = mmd2;
    j["mmd_kernel"] = "gaussian";
    j["mmd_bandwidth"] = h;
    j["sliced_w2_squared"] = sw.w2_squared;
    j["sliced_w2_std_error"] = sw.std_error;
    j["sliced_w2_projections"] = projections;
    j["sliced_w2_squared_between_two_exact_samples"] = floor.w2_squared;
    if (k >= min_points_to_judge) {
      const double noise = std::hypot(sw.std_error, floor.std_error);
      j["consistent_with_exact_law"] = !(sw.w2_squared > departure_ratio * floor.w2_squared &&
                                         sw.w2_squared - floor.w2_squared > departure_std_errors * noise);
    }
  }
  j["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return j;
}

template nlohmann::json sample_quality<float>(const Context&, const targets::GaussianMixture&, const ParticleSet<float>&,
                                              std::size_t, int, std::uint64_t);
template nlohmann::json sample_quality<double>(const Context&, const targets::GaussianMixture&,
                                               const ParticleSet<double>&, std::size_t, int, std::uint64_t);

}  // namespace flowsampler::cli
