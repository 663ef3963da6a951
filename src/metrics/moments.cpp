#include "flowsampler/metrics/moments.hpp"

#include "core/context_impl.hpp"
#include "cpu/moments.hpp"
#include "cuda/moments.hpp"
#include "flowsampler/core/error.hpp"

namespace flowsampler::metrics {

template <class Real>
std::vector<double> column_sums(const Context& ctx, const ParticleSet<Real>& x) {
  FLOWSAMPLER_EXPECTS(x.memory() == memory_of(ctx), "column_sums: x lives in " << (x.memory() == Memory::host ? "host" : "device")
                                                        << " memory but the context is " << to_string(ctx.backend()));
  std::vector<double> out(x.d(), 0.0);
  if (ctx.is_cuda()) {
#ifdef FLOWSAMPLER_HAVE_CUDA
    cuda::column_sums(ctx.impl().cuda, x.data(), x.n(), x.d(), out.data());
#endif
  } else {
    cpu::column_sums(ctx.threads(), x.data(), x.n(), x.d(), out.data());
  }
  return out;
}

template <class Real>
std::vector<double> mean(const Context& ctx, const ParticleSet<Real>& x) {
  FLOWSAMPLER_EXPECTS(x.n() > 0, "mean: the particle set is empty (N = 0)");
  std::vector<double> m = column_sums(ctx, x);
  for (double& v : m) v /= static_cast<double>(x.n());
  return m;
}

template std::vector<double> column_sums<float>(const Context&, const ParticleSet<float>&);
template std::vector<double> column_sums<double>(const Context&, const ParticleSet<double>&);
template std::vector<double> mean<float>(const Context&, const ParticleSet<float>&);
template std::vector<double> mean<double>(const Context&, const ParticleSet<double>&);

}  // namespace flowsampler::metrics
