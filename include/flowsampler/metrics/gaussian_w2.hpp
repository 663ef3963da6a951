#pragma once
/// \file W2 between Gaussians (the Bures formula) and the Gelbrich lower bound.
#include <vector>

#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"

namespace flowsampler::metrics {

/// W2^2 between N(m1, S1) and N(m2, S2) (d x d symmetric PSD, row- or
/// column-major): |m1 - m2|^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2).
/// Error on mismatched sizes, asymmetric or indefinite covariances
/// (eigenvalues below -1e-10 of the largest), non-finite entries.
double bures_w2_squared(const std::vector<double>& m1, const std::vector<double>& S1, const std::vector<double>& m2,
                        const std::vector<double>& S2);

/// The Gelbrich bound: the Bures W2^2 between the clouds' means and
/// covariances (normalized by N), a lower bound on W2^2 between any laws with
/// those moments, so in particular between the two empirical measures.
template <class Real>
double gelbrich_w2_squared(const Context& ctx, const ParticleSet<Real>& x, const ParticleSet<Real>& y);

}  // namespace flowsampler::metrics
