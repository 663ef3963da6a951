#pragma once
// Column sums and means of a cloud, reduced where it lives (one device
// reduction per 16 columns, one small download): the cloud statistic every
// layer needs, below metrics::mean and the solvers that centre their clouds.
#include <algorithm>
#include <vector>

#include "cloud/column_sums.hpp"
#include "core/launch.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/core/particle_set.hpp"

namespace flowsampler::detail {

template <class Real>
std::vector<double> column_sums(const Context& ctx, const ParticleSet<Real>& x) {
  FLOWSAMPLER_EXPECTS(x.belongs_to(ctx), "column_sums: x must live in the memory of the " << to_string(ctx.backend())
                                                                                          << " context");
  std::vector<double> out;
  out.reserve(x.d());
  for (std::size_t c0 = 0; c0 < x.d(); c0 += reduce_max_width) {
    const int w = static_cast<int>(std::min<std::size_t>(reduce_max_width, x.d() - c0));
    const std::vector<double> part = reduce(ctx, x.n(), w, kernels::ColumnSums<Real>{x.data(), x.n(), c0, w});
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

template <class Real>
std::vector<double> column_means(const Context& ctx, const ParticleSet<Real>& x) {
  FLOWSAMPLER_EXPECTS(x.n() > 0, "mean: the particle set is empty (N = 0)");
  std::vector<double> m = column_sums(ctx, x);
  for (double& v : m) v /= static_cast<double>(x.n());
  return m;
}

}  // namespace flowsampler::detail
