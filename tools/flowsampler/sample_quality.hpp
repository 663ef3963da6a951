#pragma once
// The quality section of `flowsampler sample --report`: the samples against
// the exact law they should follow.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"
#include "flowsampler/targets/gaussian_mixture.hpp"

namespace flowsampler::cli {

/// Mean and covariance errors on the whole cloud against the mixture's exact
/// moments; unbiased MMD^2 (Gaussian kernel, bandwidth sqrt(tr C / d)) and
/// sliced W2^2 on `subsample` strided particles against as many fresh draws
/// from `law`, with the sliced W2^2 between two fresh draws as the noise floor;
/// "consistent_with_exact_law" is false (from 1000 subsampled points on) when
/// the samples' sliced W2^2 exceeds 4x that floor by more than 6 standard
/// errors: the integrator's error then dominates the Monte-Carlo error.
template <class Real>
nlohmann::json sample_quality(const Context& ctx, const targets::GaussianMixture& law, const ParticleSet<Real>& z,
                              std::size_t subsample, int projections, std::uint64_t seed);

}  // namespace flowsampler::cli
