#include "fields/drifting_normalized.hpp"

#include <cmath>
#include <limits>

#include "flowsampler/core/error.hpp"
#include "flowsampler/pairwise/pairwise.hpp"

namespace flowsampler::detail {

namespace {

double total(const std::vector<double>& v) {
  double s = 0;
  for (double e : v) s += e;
  return s;
}

template <class Real>
std::vector<double> host(const ParticleSet<Real>& p) {
  const std::vector<Real> h = p.to_host();
  return std::vector<double>(h.begin(), h.end());
}

}  // namespace

// With logits L_ij = -|x_i - t_j| / h over the targets t = (y, x) (minus
// x_i itself unless include_self), row and column log-normalizers r_i, c_j,
// the weights A_ij = sqrt(softmax_row * softmax_col) = exp(L_ij - r_i/2 - c_j/2).
// The implementation's field is V_i = Wn_i sum_{j in y} A_ij y_j - Wp_i sum_{k in x} A_ik x_k
// with Wp_i, Wn_i the row sums of A over the data and over the cloud, which
// is Wn_i Up_i - Wp_i Un_i in displacements U = sum A (t - x_i): five mean
// shifts per temperature (row/column normalizers, then the weighted sums).
template <class Real>
ParticleSet<Real> drifting_normalized(const Context& ctx, const ParticleSet<Real>& x, const ParticleSet<Real>& y,
                                      const std::vector<double>& temperatures, bool include_self) {
  const std::size_t n = x.n(), m = y.n(), d = x.d();
  FLOWSAMPLER_EXPECTS(!temperatures.empty(), "drifting-normalized: needs at least one temperature");
  for (double tau : temperatures)
    FLOWSAMPLER_EXPECTS(std::isfinite(tau) && tau > 0, "drifting-normalized: temperatures must be > 0, got " << tau);
  FLOWSAMPLER_EXPECTS(include_self || n >= 2, "drifting-normalized: the cloud needs 2 points when the self term is left out");
  // The mean distance to the targets (the energy kernel is -r).
  const pairwise::KernelSpec energy{pairwise::Kernel::energy, 1.0};
  const double pairs = double(n) * double(m) + double(n) * double(include_self ? n : n - 1);
  const double mean_dist =
      -(total(host(pairwise::kernel_sum(ctx, energy, x, y))) + total(host(pairwise::kernel_sum(ctx, energy, x, x)))) / pairs;
  FLOWSAMPLER_EXPECTS(mean_dist > 0, "drifting-normalized: all points coincide (mean distance 0)");

  std::vector<double> v_sum(n * d, 0.0);
  for (double tau : temperatures) {
    const pairwise::KernelSpec k{pairwise::Kernel::laplace, mean_dist * tau};
    // Log-normalizers: rows over the data and over the cloud, columns of the data.
    const auto row_y = pairwise::mean_shift(ctx, k, x, y);
    const auto col_y = pairwise::mean_shift(ctx, k, y, x);
    // Symmetric: also the cloud's columns. The self pairs are left out by
    // the engine (logit -inf), not subtracted: no cancellation.
    const auto row_x = pairwise::mean_shift(ctx, k, x, x, static_cast<const ParticleSet<Real>*>(nullptr), !include_self);
    const std::vector<double> lp = host(row_y.lse), cy = host(col_y.lse), lx = host(row_x.lse);
    std::vector<Real> wy(m), wx(n);
    for (std::size_t j = 0; j < m; ++j) wy[j] = static_cast<Real>(-0.5 * cy[j]);
    for (std::size_t i = 0; i < n; ++i) wx[i] = static_cast<Real>(std::isfinite(lx[i]) ? -0.5 * lx[i] : -INFINITY);
    const auto log_wy = ParticleSet<Real>::from_column_major(ctx, wy.data(), m, 1);
    const auto log_wx = ParticleSet<Real>::from_column_major(ctx, wx.data(), n, 1);
    const auto pos = pairwise::mean_shift(ctx, k, x, y, &log_wy);
    const auto neg = pairwise::mean_shift(ctx, k, x, x, &log_wx, !include_self);
    const std::vector<double> mp = host(pos.mean), lpos = host(pos.lse), mn = host(neg.mean), lneg = host(neg.lse);
    std::vector<double> v(n * d);
    double sq = 0, sq_parts = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double r = std::log(std::exp(lp[i] - std::max(lp[i], lx[i])) + std::exp(lx[i] - std::max(lp[i], lx[i]))) +
                       std::max(lp[i], lx[i]);  // row normalizer over all targets
      const double sn = std::exp(lneg[i]);  // row sum of exp(L - c/2) over the cloud
      // V_i = exp(-r) exp(lpos) (Sn mp - exp(lneg) mn); displacements are relative to x_i.
      const double fp = std::exp(lpos[i] - r) * sn, fn = std::exp(lpos[i] + lneg[i] - r);
      for (std::size_t c = 0; c < d; ++c) {
        const double a = std::isfinite(fp) ? fp * mp[c * n + i] : 0.0, b = std::isfinite(fn) ? fn * mn[c * n + i] : 0.0;
        v[c * n + i] = a - b;
        sq += (a - b) * (a - b);
        sq_parts += a * a + b * b;
      }
    }
    const double rms = std::sqrt(sq / double(n * d));  // per coordinate, as the implementation's E|V|^2 / d = 1
    // Attraction and repulsion that cancel to rounding (the cloud is the
    // data) are no drift: normalizing their rounding noise would make one.
    const double noise = 1e3 * std::numeric_limits<Real>::epsilon() * std::sqrt(sq_parts / double(n * d));
    if (rms > noise)
      for (std::size_t e = 0; e < v.size(); ++e) v_sum[e] += v[e] / rms;
  }
  std::vector<Real> out(v_sum.begin(), v_sum.end());
  return ParticleSet<Real>::from_column_major(ctx, out.data(), n, d);
}

template ParticleSet<float> drifting_normalized(const Context&, const ParticleSet<float>&, const ParticleSet<float>&,
                                                const std::vector<double>&, bool);
template ParticleSet<double> drifting_normalized(const Context&, const ParticleSet<double>&, const ParticleSet<double>&,
                                                 const std::vector<double>&, bool);

}  // namespace flowsampler::detail
