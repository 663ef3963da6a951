#include "flowsampler/metrics/moments.hpp"

#include "core/context_impl.hpp"
#include "cpu/moments.hpp"
#include "cuda/moments.hpp"
#include "flowsampler/core/error.hpp"

#include <cblas.h>

#include <algorithm>

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

template <class Real>
std::vector<double> covariance(const Context& ctx, const ParticleSet<Real>& x, bool unbiased) {
  const std::size_t n = x.n(), d = x.d();
  FLOWSAMPLER_EXPECTS(n >= (unbiased ? 2u : 1u), "covariance: need at least " << (unbiased ? 2 : 1)
                                                                              << " particles, got N = " << n);
  const std::vector<double> m = mean(ctx, x);
  // Device clouds are reduced on the host for now (d x d work is tiny; the
  // copy is the cost).
  const std::vector<Real> staged = x.memory() == Memory::host ? std::vector<Real>() : x.to_host();
  const Real* data = staged.empty() ? x.data() : staged.data();
  std::vector<double> S(d * d, 0.0);
  constexpr std::size_t rows = 8192;  // centered rows per syrk: 64 KiB per coordinate, cache-sized
  std::vector<double> centered(rows * d);
  for (std::size_t r0 = 0; r0 < n; r0 += rows) {
    const std::size_t b = std::min(rows, n - r0);
    const long long total = static_cast<long long>(b * d);
#pragma omp parallel for num_threads(ctx.threads()) if (total > 65536)
    for (long long e = 0; e < total; ++e) {
      const std::size_t k = static_cast<std::size_t>(e) / b, i = static_cast<std::size_t>(e) % b;
      centered[k * b + i] = static_cast<double>(data[k * n + r0 + i]) - m[k];
    }
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, static_cast<int>(d), static_cast<int>(b), 1.0, centered.data(),
                static_cast<int>(b), 1.0, S.data(), static_cast<int>(d));
  }
  const double norm = 1.0 / static_cast<double>(unbiased ? n - 1 : n);
  for (std::size_t j = 0; j < d; ++j)
    for (std::size_t i = 0; i <= j; ++i) S[i * d + j] = S[j * d + i] = S[j * d + i] * norm;  // mirror the upper triangle
  return S;
}

template std::vector<double> covariance<float>(const Context&, const ParticleSet<float>&, bool);
template std::vector<double> covariance<double>(const Context&, const ParticleSet<double>&, bool);
template std::vector<double> column_sums<float>(const Context&, const ParticleSet<float>&);
template std::vector<double> column_sums<double>(const Context&, const ParticleSet<double>&);
template std::vector<double> mean<float>(const Context&, const ParticleSet<float>&);
template std::vector<double> mean<double>(const Context&, const ParticleSet<double>&);

}  // namespace flowsampler::metrics
