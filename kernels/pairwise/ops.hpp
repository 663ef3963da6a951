#pragma once
// The ops of the pairwise engine. An op says what one pair (x_i, y_j)
// contributes, from x_i (an accessor, x(k)), the row y_j (y[k]) and the
// y-payload row py (payload_dim(d) values per point: a weight, a potential, ...):
//   sum ops:      value_dim(d) outputs;  add(x, y, py, d, acc) adds value_ij.
//   softmax ops:  logit(x, y, py, d) and add(x, y, py, d, e, acc) adding e * value_ij.
//   k-min ops:    distance(x, y, py, d).
// value_dim and payload_dim must be constexpr in d so the compile-time-d path keeps its
// accumulators in registers.
//
// Ops that see a pair only through r2 = |x - y|^2 and the displacement x - y
// also say so (a distance form), which lets the CPU engine take a wide tile's
// r2 from one small GEMM, |x|^2 + |y|^2 - 2 x.y, instead of pair by pair
// (cpu/distance_tile.hpp):
//   static constexpr PairValue pair_value;
//   sum ops:      weight_of(r2, py), the pair's weight w;
//   softmax ops:  logit_of(r2, py), the pair's weight w then exp(logit - max);
//   displacement: displacement_coef() (c) and offset_in_payload.
// Their add and logit are written through these, so the two forms are one.
// A softmax op's logit_of must be g(r2) + a(py) with g non-increasing: the
// CPU engine bounds a span's logits by it (cpu/span_bounds.hpp), and a
// quadratic g(r2) = r2_coef() r2 says so (quadratic_logit = true), which
// gives the tighter bound.
#include <cmath>
#include <type_traits>

#include "math/fast_exp.hpp"
#include "pairwise/access.hpp"

namespace flowsampler::kernels {

/// Radial kernels k(x, y) = f(|x - y|) with bandwidth h.
enum class KernelKind { gaussian, laplace, imq, energy };

/// k and dk/dr / r for r2 = |x - y|^2: then grad_x k = (dk/dr / r) (x - y).
/// gaussian exp(-r^2 / (2h^2)); laplace exp(-r / h); inverse multiquadric
/// (1 + r^2/h^2)^(-1/2); energy -r / h. At r = 0 the Laplace and energy
/// gradients are taken as 0 (their subgradient of least norm).
template <KernelKind K, class Real>
struct Radial {
  Real inv_h, inv_h2;  // 1/h, 1/h^2

  FLOWSAMPLER_HD FLOWSAMPLER_INLINE Real value(Real r2) const {
    if constexpr (K == KernelKind::gaussian) return fast_exp(Real(-0.5) * inv_h2 * r2);
    if constexpr (K == KernelKind::laplace) return fast_exp(-std::sqrt(r2) * inv_h);
    if constexpr (K == KernelKind::imq) return Real(1) / std::sqrt(Real(1) + r2 * inv_h2);
    if constexpr (K == KernelKind::energy) return -std::sqrt(r2) * inv_h;
  }
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE Real grad_factor(Real r2) const {
    if constexpr (K == KernelKind::gaussian) return -inv_h2 * fast_exp(Real(-0.5) * inv_h2 * r2);
    if constexpr (K == KernelKind::laplace) {
      const Real r = std::sqrt(r2);
      return r > 0 ? -inv_h * fast_exp(-r * inv_h) / r : Real(0);
    }
    if constexpr (K == KernelKind::imq) {
      const Real q = Real(1) / std::sqrt(Real(1) + r2 * inv_h2);
      return -inv_h2 * q * q * q;
    }
    if constexpr (K == KernelKind::energy) {
      const Real r = std::sqrt(r2);
      return r > 0 ? -inv_h / r : Real(0);
    }
  }
};

/// The value a distance-form op adds for a pair of weight w: w itself (one
/// output), w r2 (one output), or w (offset_k + c (x_k - y_k)) (d outputs;
/// offset_k the payload's column k when offset_in_payload, else 0).
enum class PairValue { weight, sqdist, displacement };

template <class Op, class = void>
struct has_distance_form : std::false_type {};
template <class Op>
struct has_distance_form<Op, std::void_t<decltype(Op::pair_value)>> : std::true_type {};

/// Sum ops whose pair weight is exp(r2_coef() r2) times a factor (the
/// Gaussian kernel): weight_of(r2, py) == weight_from_exp(fast_exp(r2_coef() * r2), py)
/// bit for bit, and weight_from_exp also takes a host vector of exps, so the
/// CPU's wide tiles take a register block's weights whole (cpu/reduce_sum.hpp).
template <class Op, class = void>
struct exp_weight : std::false_type {};
template <class Op>
struct exp_weight<Op, std::enable_if_t<Op::exp_weight>> : std::true_type {};

/// Whether a softmax op's pairs add to its value (all but a soft-min asked
/// for its lse alone): Op::adds_value where the op says, else true.
template <class Op, class = void>
struct adds_value : std::true_type {};
template <class Op>
struct adds_value<Op, std::enable_if_t<!Op::adds_value>> : std::false_type {};

template <class Op, class = void>
struct quadratic_logit : std::false_type {};
template <class Op>
struct quadratic_logit<Op, std::enable_if_t<Op::quadratic_logit>> : std::true_type {};

/// sum_j w_j k(x_i, y_j): one output. Weighted reads w_j from payload column 0.
template <KernelKind K, class Real, bool Weighted>
struct KernelSumOp {
  Radial<K, Real> kernel;
  static constexpr PairValue pair_value = PairValue::weight;
  static constexpr bool exp_weight = K == KernelKind::gaussian;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE Real r2_coef() const { return Real(-0.5) * kernel.inv_h2; }
  template <class V>
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE V weight_from_exp(V e, const Real* py) const {
    return Weighted ? py[0] * e : e;
  }
  FLOWSAMPLER_HD static constexpr int payload_dim(int) { return Weighted ? 1 : 0; }
  FLOWSAMPLER_HD static constexpr int value_dim(int) { return 1; }
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE Real weight_of(Real r2, const Real* py) const {
    const Real v = kernel.value(r2);
    return Weighted ? py[0] * v : v;
  }
  template <int D, class X, class A>
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void add(const X& x, const Real* y, const Real* py, int d, A& acc) const {
    acc(0) += weight_of(sqdist<D>(x, y, d), py);
  }
};

/// sum_j w_j grad_x k(x_i, y_j): d outputs.
template <KernelKind K, class Real, bool Weighted>
struct KernelGradSumOp {
  Radial<K, Real> kernel;
  static constexpr PairValue pair_value = PairValue::displacement;
  static constexpr bool offset_in_payload = false;
  static constexpr bool exp_weight = K == KernelKind::gaussian;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE Real r2_coef() const { return Real(-0.5) * kernel.inv_h2; }
  template <class V>
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE V weight_from_exp(V e, const Real* py) const {
    const V g = -kernel.inv_h2 * e;
    return Weighted ? g * py[0] : g;
  }
  FLOWSAMPLER_HD static constexpr int payload_dim(int) { return Weighted ? 1 : 0; }
  FLOWSAMPLER_HD static constexpr int value_dim(int d) { return d; }
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE Real displacement_coef() const { return Real(1); }
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE Real weight_of(Real r2, const Real* py) const {
    const Real g = kernel.grad_factor(r2);
    return Weighted ? g * py[0] : g;
  }
  template <int D, class X, class A>
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void add(const X& x, const Real* y, const Real* py, int d, A& acc) const {
    const Real g = weight_of(sqdist<D>(x, y, d), py);
    FLOWSAMPLER_UNROLL for (int k = 0; k < dim<D>(d); ++k) acc(k) += g * (x(k) - y[k]);
  }
};

/// The SVGD direction in one pass (Gaussian kernel, Liu & Wang 2016):
/// sum_j k(y_j, x_i) (s_j + (x_i - y_j) / h^2), s_j the target's score at y_j
/// read from the payload (d columns). The driving and the repulsive terms
/// share the kernel's one exp per pair; d outputs.
template <class Real>
struct SvgdOp {
  Radial<KernelKind::gaussian, Real> kernel;
  static constexpr PairValue pair_value = PairValue::displacement;
  static constexpr bool offset_in_payload = true;
  static constexpr bool exp_weight = true;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE Real r2_coef() const { return Real(-0.5) * kernel.inv_h2; }
  template <class V>
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE V weight_from_exp(V e, const Real*) const {
    return e;
  }
  FLOWSAMPLER_HD static constexpr int payload_dim(int d) { return d; }
  FLOWSAMPLER_HD static constexpr int value_dim(int d) { return d; }
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE Real displacement_coef() const { return kernel.inv_h2; }
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE Real weight_of(Real r2, const Real*) const { return kernel.value(r2); }
  template <int D, class X, class A>
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void add(const X& x, const Real* y, const Real* py, int d, A& acc) const {
    const Real k = weight_of(sqdist<D>(x, y, d), py);
    FLOWSAMPLER_UNROLL for (int c = 0; c < dim<D>(d); ++c) acc(c) += k * (py[c] + (x(c) - y[c]) * kernel.inv_h2);
  }
};

/// Mean shift: logit -|x - y|^2 / (2 eps^2) + log w_j (Gaussian kernel) or
/// -|x - y| / h + log w_j (Laplace), value y_j - x_i (d outputs).
/// Weighted reads log w_j from payload column 0.
template <class Real, bool Weighted, bool Laplace = false>
struct MeanShiftOp {
  Real scale;  // Gaussian: -1 / (2 eps^2), times |x - y|^2; Laplace: -1 / h, times |x - y|
  static constexpr PairValue pair_value = PairValue::displacement;
  static constexpr bool quadratic_logit = !Laplace;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE Real r2_coef() const { return scale; }
  static constexpr bool offset_in_payload = false;
  FLOWSAMPLER_HD static constexpr int payload_dim(int) { return Weighted ? 1 : 0; }
  FLOWSAMPLER_HD static constexpr int value_dim(int d) { return d; }
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE Real displacement_coef() const { return Real(-1); }  // the value y - x
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE Real logit_of(Real r2, const Real* py) const {
    const Real l = scale * (Laplace ? std::sqrt(r2) : r2);
    return Weighted ? l + py[0] : l;
  }
  template <int D, class X>
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE Real logit(const X& x, const Real* y, const Real* py, int d) const {
    return logit_of(sqdist<D>(x, y, d), py);
  }
  template <int D, class X, class A>
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void add(const X& x, const Real* y, const Real*, int d, Real e, A& acc) const {
    FLOWSAMPLER_UNROLL for (int k = 0; k < dim<D>(d); ++k) acc(k) += e * (y[k] - x(k));
  }
};

/// Soft-min of the squared distance (entropic OT's c-transform): logit
/// -|x - y|^2 / eps + log w_j (payload column 0), value |x - y|^2 (1 output:
/// the softmax-weighted mean cost of each row). Without `Mean` the pair adds
/// nothing to the value (adds_value; Sinkhorn's iterations need only the lse:
/// the pass then skips the distance's second evaluation), and the output is 0 except
/// where the tiles go by distance (d > 8 on the CPU), which fill it anyway.
template <class Real, bool Mean = true>
struct SoftminSqDistOp {
  Real neg_inv_eps;  // -1 / eps
  static constexpr PairValue pair_value = PairValue::sqdist;
  static constexpr bool quadratic_logit = true;
  static constexpr bool adds_value = Mean;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE Real r2_coef() const { return neg_inv_eps; }
  FLOWSAMPLER_HD static constexpr int payload_dim(int) { return 1; }
  FLOWSAMPLER_HD static constexpr int value_dim(int) { return 1; }
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE Real logit_of(Real r2, const Real* py) const { return neg_inv_eps * r2 + py[0]; }
  template <int D, class X>
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE Real logit(const X& x, const Real* y, const Real* py, int d) const {
    return logit_of(sqdist<D>(x, y, d), py);
  }
  template <int D, class X, class A>
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void add(const X& x, const Real* y, const Real*, int d, Real e, A& acc) const {
    if constexpr (Mean) acc(0) += e * sqdist<D>(x, y, d);
  }
};

/// k-min on squared Euclidean distance.
template <class Real>
struct SqDistOp {
  FLOWSAMPLER_HD static constexpr int payload_dim(int) { return 0; }
  FLOWSAMPLER_HD static constexpr int value_dim(int) { return 1; }  // unused by k-min
  template <int D, class X>
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE Real distance(const X& x, const Real* y, const Real*, int d) const {
    return sqdist<D>(x, y, d);
  }
};

}  // namespace flowsampler::kernels
