#pragma once
/// \file Attention dynamics as transport of a token measure: each token moves
/// with v(x_i) = sum_j softmax_j(<Q x_i, K x_j>) V x_j over the current cloud
/// (one self-attention head; the euler step x_i += tau v(x_i) is the
/// residual update). Computed on the pairwise engine as a Gaussian mean shift
/// of augmented points, whose squared norms cancel in the logits: in float,
/// tokens with |Q x|, |K x| or |V x| above ~30 lose digits; use double there.
#include <vector>

#include "flowsampler/fields/field.hpp"

namespace flowsampler::fields {

template <class Real>
class AttentionField final : public Field<Real> {
 public:
  /// Q and K are p x d, V is d x d, all row-major. Error on sizes or non-finite entries.
  AttentionField(std::size_t d, std::size_t p, std::vector<double> Q, std::vector<double> K, std::vector<double> V);
  std::size_t dim() const override { return d_; }
  FieldValues<Real> evaluate(const Context& ctx, double t, const ParticleSet<Real>& z,
                             const FieldRequest& what) const override;

 private:
  std::size_t d_, p_;
  std::vector<double> Q_, K_, V_;
};

}  // namespace flowsampler::fields
