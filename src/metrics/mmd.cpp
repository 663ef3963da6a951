#include "flowsampler/metrics/mmd.hpp"

#include "core/rank_rows.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/metrics/moments.hpp"

namespace flowsampler::metrics {

namespace {

// sum_ij k(a_i, b_j), accumulated in double over the N row sums; with ranks,
// each sums its shard of a's rows and the partial sums are added in rank order.
template <class Real>
double kernel_total(const Context& ctx, const pairwise::KernelSpec& kernel, const ParticleSet<Real>& a,
                    const ParticleSet<Real>& b, const Communicator* comm) {
  const detail::RankRows<Real> rows(ctx, a, comm);
  const ParticleSet<Real>& mine = rows.mine();  // a rank may own no row
  return rows.total(mine.n() ? column_sums(ctx, pairwise::kernel_sum(ctx, kernel, mine, b))[0] : 0.0);
}

}  // namespace

template <class Real>
double mmd_squared(const Context& ctx, const pairwise::KernelSpec& kernel, const ParticleSet<Real>& x,
                   const ParticleSet<Real>& y, bool unbiased, const Communicator* comm) {
  FLOWSAMPLER_EXPECTS(x.d() == y.d(), "mmd: x has d = " << x.d() << ", y has d = " << y.d());
  const std::size_t minimum = unbiased ? 2 : 1;
  FLOWSAMPLER_EXPECTS(x.n() >= minimum && y.n() >= minimum,
                      "mmd: need at least " << minimum << " particles in each set, got N = " << x.n() << ", M = " << y.n());
  const double n = static_cast<double>(x.n()), m = static_cast<double>(y.n());
  const double k0 = kernel.kind == pairwise::Kernel::energy ? 0.0 : 1.0;  // k(z, z)
  const double xx = kernel_total(ctx, kernel, x, x, comm), yy = kernel_total(ctx, kernel, y, y, comm);
  const double xy = kernel_total(ctx, kernel, x, y, comm);
  if (unbiased) return (xx - n * k0) / (n * (n - 1)) + (yy - m * k0) / (m * (m - 1)) - 2 * xy / (n * m);
  return xx / (n * n) + yy / (m * m) - 2 * xy / (n * m);
}

template <class Real>
double energy_distance(const Context& ctx, const ParticleSet<Real>& x, const ParticleSet<Real>& y,
                       const Communicator* comm) {
  return mmd_squared(ctx, pairwise::KernelSpec{pairwise::Kernel::energy, 1.0}, x, y, false, comm);
}

#define FLOWSAMPLER_INSTANTIATE(Real)                                                                             \
  template double mmd_squared<Real>(const Context&, const pairwise::KernelSpec&, const ParticleSet<Real>&,         \
                                    const ParticleSet<Real>&, bool, const Communicator*);                          \
  template double energy_distance<Real>(const Context&, const ParticleSet<Real>&, const ParticleSet<Real>&,       \
                                        const Communicator*);
FLOWSAMPLER_INSTANTIATE(float)
FLOWSAMPLER_INSTANTIATE(double)
#undef FLOWSAMPLER_INSTANTIATE

}  // namespace flowsampler::metrics
