#include "flowsampler/fields/attention.hpp"

#include <cmath>

#include "flowsampler/core/error.hpp"
#include "flowsampler/pairwise/pairwise.hpp"

namespace flowsampler::fields {

template <class Real>
AttentionField<Real>::AttentionField(std::size_t d, std::size_t p, std::vector<double> Q, std::vector<double> K,
                                     std::vector<double> V)
    : d_(d), p_(p), Q_(std::move(Q)), K_(std::move(K)), V_(std::move(V)) {
  FLOWSAMPLER_EXPECTS(d > 0 && p > 0, "attention: need d, p > 0, got " << d << ", " << p);
  FLOWSAMPLER_EXPECTS(Q_.size() == p * d && K_.size() == p * d && V_.size() == d * d,
                      "attention: Q and K must be p x d = " << p << " x " << d << ", V d x d; got " << Q_.size() << ", "
                                                            << K_.size() << ", " << V_.size() << " entries");
  for (const auto* M : {&Q_, &K_, &V_})
    for (double v : *M) FLOWSAMPLER_EXPECTS(std::isfinite(v), "attention: non-finite matrix entry");
}

template <class Real>
FieldValues<Real> AttentionField<Real>::evaluate(const Context& ctx, double, const ParticleSet<Real>& z,
                                                 const FieldRequest& what) const {
  this->require(what, "attention");
  FLOWSAMPLER_EXPECTS(z.d() == d_, "attention: tokens have d = " << z.d() << ", expected " << d_);
  FLOWSAMPLER_EXPECTS(z.n() > 0, "attention: no tokens");
  const std::size_t n = z.n(), q = p_ + d_;
  const std::vector<Real> x = z.to_host();
  // softmax_j(a_i . b_j) with a = Q x, b = K x is the Gaussian mean shift (eps = 1)
  // of the points a' = [a, 0] toward b' = [b, c], c = V x, with
  // log-weights (|b_j|^2 + |c_j|^2) / 2: -|a' - b'|^2 / 2 + lw_j = a . b - |a|^2 / 2,
  // and the mean's last d coordinates are then sum_j softmax_j c_j. Products
  // in double; the engine sees the augmented points.
  std::vector<Real> a(n * q, Real(0)), b(n * q), lw(n);
  std::vector<double> lwd(n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t r = 0; r < p_; ++r) {
      double qa = 0, kb = 0;
      for (std::size_t c = 0; c < d_; ++c) {
        qa += Q_[r * d_ + c] * double(x[c * n + i]);
        kb += K_[r * d_ + c] * double(x[c * n + i]);
      }
      a[r * n + i] = static_cast<Real>(qa);
      b[r * n + i] = static_cast<Real>(kb);
      lwd[i] += 0.5 * kb * kb;
    }
    for (std::size_t r = 0; r < d_; ++r) {
      double vc = 0;
      for (std::size_t c = 0; c < d_; ++c) vc += V_[r * d_ + c] * double(x[c * n + i]);
      b[(p_ + r) * n + i] = static_cast<Real>(vc);
      lwd[i] += 0.5 * vc * vc;
    }
    lw[i] = static_cast<Real>(lwd[i]);
  }
  const auto A = ParticleSet<Real>::from_column_major(ctx, a.data(), n, q);
  const auto B = ParticleSet<Real>::from_column_major(ctx, b.data(), n, q);
  const auto LW = ParticleSet<Real>::from_column_major(ctx, lw.data(), n, 1);
  const std::vector<Real> mean = pairwise::mean_shift(ctx, 1.0, A, B, &LW).mean.to_host();
  FieldValues<Real> out;
  // Columns p..p+d-1 of the mean are sum_j w_ij (c_j - 0).
  out.velocity = ParticleSet<Real>::from_column_major(ctx, mean.data() + p_ * n, n, d_);
  return out;
}

template class AttentionField<float>;
template class AttentionField<double>;

}  // namespace flowsampler::fields
