#pragma once
// Turns the public descriptions (KernelSpec, eps, weighted or not) into the
// op types of kernels/pairwise/ops.hpp and calls f(op). The public entry
// points and the CUDA instantiations (src/cuda/pairwise_ops.cu) both go
// through these visitors, so the list of shipped ops lives here only.
#include <type_traits>

#include "flowsampler/pairwise/pairwise.hpp"
#include "pairwise/ops.hpp"

namespace flowsampler::pairwise::detail {

template <class Real, class F>
void visit_kernel_op(const KernelSpec& spec, bool grad, bool weighted, F&& f) {
  using kernels::KernelKind;
  const double h = spec.bandwidth;
  auto with = [&](auto kind) {
    constexpr KernelKind K = decltype(kind)::value;
    const kernels::Radial<K, Real> r{static_cast<Real>(1 / h), static_cast<Real>(1 / (h * h))};
    if (grad) {
      if (weighted) f(kernels::KernelGradSumOp<K, Real, true>{r});
      else f(kernels::KernelGradSumOp<K, Real, false>{r});
    } else {
      if (weighted) f(kernels::KernelSumOp<K, Real, true>{r});
      else f(kernels::KernelSumOp<K, Real, false>{r});
    }
  };
  switch (spec.kind) {
    case Kernel::gaussian: with(std::integral_constant<KernelKind, KernelKind::gaussian>{}); break;
    case Kernel::laplace: with(std::integral_constant<KernelKind, KernelKind::laplace>{}); break;
    case Kernel::imq: with(std::integral_constant<KernelKind, KernelKind::imq>{}); break;
    case Kernel::energy: with(std::integral_constant<KernelKind, KernelKind::energy>{}); break;
  }
}

/// Gaussian (bandwidth eps) or, with `laplace`, Laplace (bandwidth h = eps) mean shift.
template <class Real, class F>
void visit_mean_shift_op(double eps, bool weighted, F&& f, bool laplace = false) {
  if (laplace) {
    const Real c = static_cast<Real>(-1 / eps);
    if (weighted) f(kernels::MeanShiftOp<Real, true, true>{c});
    else f(kernels::MeanShiftOp<Real, false, true>{c});
    return;
  }
  const Real c = static_cast<Real>(-0.5 / (eps * eps));
  if (weighted) f(kernels::MeanShiftOp<Real, true>{c});
  else f(kernels::MeanShiftOp<Real, false>{c});
}

/// The fused SVGD pass with the Gaussian kernel of bandwidth h.
template <class Real>
kernels::SvgdOp<Real> svgd_op(double h) {
  return {{static_cast<Real>(1 / h), static_cast<Real>(1 / (h * h))}};
}

/// The soft-min with its weighted mean cost (`Mean`) or for the lse alone.
template <class Real, bool Mean = true>
kernels::SoftminSqDistOp<Real, Mean> softmin_op(double eps) {
  return {static_cast<Real>(-1 / eps)};
}

}  // namespace flowsampler::pairwise::detail
