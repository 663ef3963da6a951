#include "flowsampler/core/random.hpp"

#include <algorithm>
#include <cmath>

#include "core/context_impl.hpp"
#include "cpu/random.hpp"
#include "cuda/random.hpp"
#include "flowsampler/core/error.hpp"
#include "random/philox.hpp"

namespace flowsampler {
namespace {
template <class Real>
void fill(Context& ctx, ParticleSet<Real>& out, int kind) {
  const std::uint32_t draw = ctx.next_draw();
  if (ctx.is_cuda()) {
#ifdef FLOWSAMPLER_HAVE_CUDA
    cuda::fill_random(ctx.impl().cuda, out.data(), out.n(), out.d(), ctx.seed(), draw, kind);
#endif
  } else {
    FLOWSAMPLER_EXPECTS(out.memory() == Memory::host, "random fill: the particle set lives in device memory but the context is CPU");
    cpu::fill_random(ctx.threads(), out.data(), out.n(), out.d(), ctx.seed(), draw, kind);
  }
}
}  // namespace

template <class Real>
void fill_normal(Context& ctx, ParticleSet<Real>& out) { fill(ctx, out, 1); }
template <class Real>
void fill_uniform(Context& ctx, ParticleSet<Real>& out) { fill(ctx, out, 0); }

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
#pragma omp parallel for num_threads(ctx.threads()) schedule(static) if (nn > 16384)
  for (long long i = 0; i < nn; ++i) {
    // u in (0, 1] * total: the first k with cdf[k] >= u has positive weight.
    const double u = kernels::uniform_coordinate<double>(seed, draw, static_cast<std::uint64_t>(i), 0) * total;
    const auto it = std::lower_bound(cdf.begin(), cdf.end(), u);
    out[i] = static_cast<std::uint32_t>(std::min<std::size_t>(it - cdf.begin(), cdf.size() - 1));
  }
  return out;
}

}  // namespace flowsampler
