#include "flowsampler/fields/attention.hpp"

#include <cmath>

#include "cloud/lincomb.hpp"
#include "core/launch.hpp"
#include "fields/attention.hpp"
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
  // softmax_j(a_i . b_j) with a = Q x, b = K x is the Gaussian mean shift (eps = 1)
  // of the points a' = [a, 0] toward b' = [b, c], c = V x, with
  // log-weights (|b_j|^2 + |c_j|^2) / 2: -|a' - b'|^2 / 2 + lw_j = a . b - |a|^2 / 2,
  // and the mean's last d coordinates are then sum_j softmax_j c_j. Products
  // in double, by a kernel where the tokens live; the engine sees the
  // augmented points. Only Q, K and V (2 p d + d^2 doubles) travel.
  std::vector<double> mats(Q_);
  mats.insert(mats.end(), K_.begin(), K_.end());
  mats.insert(mats.end(), V_.begin(), V_.end());
  Buffer<double> M(ctx, mats.size());
  M.copy_from_host(mats.data());
  ParticleSet<Real> A(ctx, n, q), B(ctx, n, q), LW(ctx, n, 1);
  detail::for_each(ctx, n, kernels::AttentionAugment<Real>{z.data(), n, d_, p_, M.data(), A.data(), B.data(), LW.data()});
  const ParticleSet<Real> mean = std::move(pairwise::mean_shift(ctx, 1.0, A, B, &LW).mean);
  FieldValues<Real> out;
  // Columns p..p+d-1 of the mean are sum_j w_ij (c_j - 0).
  out.velocity = ParticleSet<Real>(ctx, n, d_);
  detail::for_each(ctx, n * d_, kernels::Lincomb<Real, 0>{out.velocity.data(), mean.column(p_), Real(1), {}, {}});
  return out;
}

template class AttentionField<float>;
template class AttentionField<double>;

}  // namespace flowsampler::fields
