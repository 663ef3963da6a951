#pragma once
/// \file The exact Gaussian-mixture flow along a path, integrated: a shorthand
/// kept apart from integrate.hpp so that the integrators' header does not
/// pull in the mixture field.
#include <vector>

#include "flowsampler/fields/gmm_field.hpp"
#include "flowsampler/integrate/integrate.hpp"

namespace flowsampler::integrate {

/// integrate(ctx, fields::GmmFlow<Real>(field, path), z, grid, method, options).
template <class Real>
Report integrate(const Context& ctx, const fields::GmmField& field, const paths::Path& path, ParticleSet<Real>& z,
                 const std::vector<double>& grid, Method method, const Options<Real>& options = {}) {
  return integrate(ctx, fields::GmmFlow<Real>(field, path), z, grid, method, options);
}

}  // namespace flowsampler::integrate
