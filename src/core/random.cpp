#include "flowsampler/core/random.hpp"

#include <algorithm>
#include <cmath>

#include "core/launch.hpp"
#include "flowsampler/core/error.hpp"
#include "random/fill.hpp"

namespace flowsampler {
namespace {
template <class Real>
void fill(Context& ctx, ParticleSet<Real>& out, kernels::Distribution kind) {
  FLOWSAMPLER_EXPECTS(out.belongs_to(ctx), "random fill: the particle set must live in the context's memory ("
                                               << to_string(ctx.backend()) << ")");
  const std::uint32_t draw = ctx.next_draw();
  detail::for_each(ctx, out.size(), kernels::RandomFill<Real>{out.data(), out.n(), ctx.seed(), draw, kind, out.first_row()});
}
}  // namespace

template <class Real>
void fill_normal(Context& ctx, ParticleSet<Real>& out) { fill(ctx, out, kernels::Distribution::normal); }
template <class Real>
void fill_uniform(Context& ctx, ParticleSet<Real>& out) { fill(ctx, out, kernels::Distribution::uniform); }

template void fill_normal<float>(Context&, ParticleSet<float>&);
template void fill_normal<double>(Context&, ParticleSet<double>&);
template void fill_uniform<float>(Context&, ParticleSet<float>&);
template void fill_uniform<double>(Context&, ParticleSet<double>&);

std::vector<std::uint32_t> categorical(Context& ctx, const std::vector<double>& weights, std::size_t n) {
  FLOWSAMPLER_EXPECTS(!weights.empty(), "categorical: weights must not be empty");
  std::vector<double> cdf(weights.size());
  double total = 0;
  for (std::size_t k = 0; k < weights.size(); ++k) {
    FLOWSAMPLER_EXPECTS(std::isfinite(weights[k]) && weights[k] >= 0,
                        "categorical: weights[" << k << "] must be finite and >= 0, got " << weights[k]);
    total += weights[k];
    cdf[k] = total;
  }
  FLOWSAMPLER_EXPECTS(total > 0, "categorical: weights must not all be zero");
  const std::uint32_t draw = ctx.next_draw();
  const std::uint64_t seed = ctx.seed();
  std::vector<std::uint32_t> out(n);
  const long long nn = static_cast<long long>(n);
#pragma omp parallel for num_threads(ctx.threads()) schedule(static) if (nn >= detail::parallel_min_elements)
  for (long long i = 0; i < nn; ++i)
    out[i] = kernels::categorical_index(cdf.data(), static_cast<std::uint32_t>(cdf.size()), total,
                                        kernels::uniform_coordinate<double>(seed, draw, static_cast<std::uint64_t>(i), 0));
  return out;
}

}  // namespace flowsampler
