#pragma once
/// \file Relative Fisher information between two Gaussian mixtures, by Monte
/// Carlo with their exact scores.
#include <cstddef>

#include "flowsampler/core/context.hpp"
#include "flowsampler/targets/gaussian_mixture.hpp"

namespace flowsampler::metrics {

struct FisherInformation {
  double value = 0;      ///< FI(nu || mu) = E_nu |grad log nu - grad log mu|^2, the sample mean
  double std_error = 0;  ///< its Monte Carlo standard error
  double sup = 0;        ///< FI_inf estimate: the largest |grad log nu - grad log mu|^2 over the sample
  std::size_t samples = 0;
};

/// FI(nu || mu) from n draws of nu (ctx's random stream), in double. The
/// supremum over the sample is a lower estimate of FI_inf = sup_x |...|^2
/// (the seed papers' uniform Fisher information). Error on mismatched
/// dimensions, n < 2, mixtures with Dirac atoms (no score).
FisherInformation relative_fisher_information(Context& ctx, const targets::GaussianMixture& nu,
                                              const targets::GaussianMixture& mu, std::size_t n);

}  // namespace flowsampler::metrics
