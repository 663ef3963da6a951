#include "fields/drifting_normalized.hpp"

#include <cmath>
#include <limits>
#include <type_traits>

#include "cloud/column_sums.hpp"
#include "cloud/lincomb.hpp"
#include "core/launch.hpp"
#include "fields/normalized_drift.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/pairwise/pairwise.hpp"
#include "pairwise/engine.hpp"
#include "pairwise/shipped_ops.hpp"

namespace flowsampler::detail {

// With logits L_ij = -|x_i - t_j| / h over the targets t = (y, x) (minus
// x_i itself unless include_self), row and column log-normalizers r_i, c_j,
// the weights A_ij = sqrt(softmax_row * softmax_col) = exp(L_ij - r_i/2 - c_j/2).
// The implementation's field is V_i = Wn_i sum_{j in y} A_ij y_j - Wp_i sum_{k in x} A_ik x_k
// with Wp_i, Wn_i the row sums of A over the data and over the cloud, which
// is Wn_i Up_i - Wp_i Un_i in displacements U = sum A (t - x_i): five mean
// shifts per temperature (row/column normalizers, then the weighted sums).
//
// Everything stays where the clouds live: the engine's outputs are combined
// by kernels (kernels/fields/normalized_drift.hpp), and the host reads
// 2 doubles for the mean distance and 2 per temperature (the RMS and the
// size of its parts), which decide the normalization.
template <class Real>
ParticleSet<Real> drifting_normalized(const Context& ctx, const ParticleSet<Real>& x, const ParticleSet<Real>& y,
                                      const std::vector<double>& temperatures, bool include_self) {
  const std::size_t n = x.n(), m = y.n(), d = x.d();
  FLOWSAMPLER_EXPECTS(!temperatures.empty(), "drifting-normalized: needs at least one temperature");
  for (double tau : temperatures)
    FLOWSAMPLER_EXPECTS(std::isfinite(tau) && tau > 0, "drifting-normalized: temperatures must be > 0, got " << tau);
  FLOWSAMPLER_EXPECTS(include_self || n >= 2, "drifting-normalized: the cloud needs 2 points when the self term is left out");
  pairwise::detail::expect_pair(ctx, "drifting-normalized", x, y);
  FLOWSAMPLER_EXPECTS(m > 0, "drifting-normalized: the data are empty");
  // The mean distance to the targets (the energy kernel is -r): the row sums
  // toward the data and toward the cloud side by side, one reduce of both.
  const double pairs = double(n) * double(m) + double(n) * double(include_self ? n : n - 1);
  ParticleSet<Real> rows(ctx, n, 2);
  pairwise::detail::visit_kernel_op<Real>({pairwise::Kernel::energy, 1.0}, false, false, [&](const auto& op) {
    pairwise::detail::run<kernels::Reduction::sum>(ctx, op, x, y, nullptr, rows.column(0));
    pairwise::detail::run<kernels::Reduction::sum>(ctx, op, x, x, nullptr, rows.column(1));
  });
  const std::vector<double> totals = reduce(ctx, n, 2, kernels::ColumnSums<Real>{rows.data(), n, 0, 2});
  const double mean_dist = -(totals[0] + totals[1]) / pairs;
  FLOWSAMPLER_EXPECTS(mean_dist > 0, "drifting-normalized: all points coincide (mean distance 0)");

  ParticleSet<double> v_sum(ctx, n, d);  // the sum over temperatures, in double as the parts are
  for_each(ctx, v_sum.size(), kernels::Fill<double>{v_sum.data(), 0.0});
  ParticleSet<Real> log_wy(ctx, m, 1), log_wx(ctx, n, 1);
  for (double tau : temperatures) {
    const pairwise::KernelSpec k{pairwise::Kernel::laplace, mean_dist * tau};
    // Log-normalizers: rows over the data and over the cloud, columns of the data.
    const auto row_y = pairwise::mean_shift(ctx, k, x, y);
    const auto col_y = pairwise::mean_shift(ctx, k, y, x);
    // Symmetric: also the cloud's columns. The self pairs are left out by
    // the engine (logit -inf), not subtracted: no cancellation.
    const auto row_x = pairwise::mean_shift(ctx, k, x, x, static_cast<const ParticleSet<Real>*>(nullptr), !include_self);
    for_each(ctx, m, kernels::HalfNegLse<Real>{log_wy.data(), col_y.lse.data()});
    for_each(ctx, n, kernels::HalfNegLse<Real>{log_wx.data(), row_x.lse.data()});
    const auto pos = pairwise::mean_shift(ctx, k, x, y, &log_wy);
    const auto neg = pairwise::mean_shift(ctx, k, x, x, &log_wx, !include_self);
    const kernels::NormalizedDriftTerms<Real> terms{row_y.lse.data(), row_x.lse.data(), pos.lse.data(),
                                                    neg.lse.data(),   pos.mean.data(),  neg.mean.data(), n};
    const std::vector<double> sq = reduce(ctx, n, 2, kernels::NormalizedDriftNorms<Real>{terms, d});
    const double rms = std::sqrt(sq[0] / double(n * d));  // per coordinate, as the implementation's E|V|^2 / d = 1
    // Attraction and repulsion that cancel to rounding (the cloud is the
    // data) are no drift: normalizing their rounding noise would make one.
    const double noise = 1e3 * std::numeric_limits<Real>::epsilon() * std::sqrt(sq[1] / double(n * d));
    if (rms > noise) for_each(ctx, v_sum.size(), kernels::NormalizedDriftAccumulate<Real>{terms, v_sum.data(), rms});
  }
  if constexpr (std::is_same_v<Real, double>) {
    return v_sum;
  } else {
    ParticleSet<Real> out(ctx, n, d);
    for_each(ctx, out.size(), kernels::Convert<Real, double>{out.data(), v_sum.data()});
    return out;
  }
}

template ParticleSet<float> drifting_normalized(const Context&, const ParticleSet<float>&, const ParticleSet<float>&,
                                                const std::vector<double>&, bool);
template ParticleSet<double> drifting_normalized(const Context&, const ParticleSet<double>&, const ParticleSet<double>&,
                                                 const std::vector<double>&, bool);

}  // namespace flowsampler::detail
