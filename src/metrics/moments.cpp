#include "flowsampler/metrics/moments.hpp"

#include <algorithm>

#include "cloud/center.hpp"
#include "core/column_sums.hpp"
#include "cloud/lincomb.hpp"
#include "core/launch.hpp"
#include "flowsampler/core/error.hpp"

namespace flowsampler::metrics {

template <class Real>
std::vector<double> column_sums(const Context& ctx, const ParticleSet<Real>& x) {
  return detail::column_sums(ctx, x);
}

template <class Real>
std::vector<double> mean(const Context& ctx, const ParticleSet<Real>& x) {
  return detail::column_means(ctx, x);
}

template <class Real>
std::vector<double> covariance(const Context& ctx, const ParticleSet<Real>& x, bool unbiased) {
  const std::size_t n = x.n(), d = x.d();
  FLOWSAMPLER_EXPECTS(n >= (unbiased ? 2u : 1u), "covariance: need at least " << (unbiased ? 2 : 1)
                                                                              << " particles, got N = " << n);
  const std::vector<double> m = mean(ctx, x);
  Buffer<double> mean_dev(ctx, d), S(ctx, d * d);
  mean_dev.copy_from_host(m.data());
  detail::for_each(ctx, d * d, kernels::Fill<double>{S.data(), 0.0});
  // Centred rows in double, a block at a time, and their products C^T C
  // accumulated in double (a large offset does not cancel the variance).
  const std::size_t rows = std::min<std::size_t>(n, ctx.on_device() ? std::size_t(1) << 20 : 8192);
  Buffer<double> centered(ctx, rows * d);
  for (std::size_t r0 = 0; r0 < n; r0 += rows) {
    const std::size_t b = std::min(rows, n - r0);
    detail::for_each(ctx, b * d, kernels::CenterRows<Real>{centered.data(), x.data(), n, r0, b, mean_dev.data()});
    detail::gemm<double>(ctx, true, false, int(d), int(d), int(b), 1.0, centered.data(), int(b), centered.data(), int(b),
                         1.0, S.data(), int(d));
  }
  std::vector<double> out(d * d);
  S.copy_to_host(out.data());
  const double norm = 1.0 / static_cast<double>(unbiased ? n - 1 : n);
  for (std::size_t j = 0; j < d; ++j)
    for (std::size_t i = 0; i <= j; ++i) out[i * d + j] = out[j * d + i] = 0.5 * (out[i * d + j] + out[j * d + i]) * norm;
  return out;
}

template std::vector<double> covariance<float>(const Context&, const ParticleSet<float>&, bool);
template std::vector<double> covariance<double>(const Context&, const ParticleSet<double>&, bool);
template std::vector<double> column_sums<float>(const Context&, const ParticleSet<float>&);
template std::vector<double> column_sums<double>(const Context&, const ParticleSet<double>&);
template std::vector<double> mean<float>(const Context&, const ParticleSet<float>&);
template std::vector<double> mean<double>(const Context&, const ParticleSet<double>&);

}  // namespace flowsampler::metrics
