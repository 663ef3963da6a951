#pragma once
// The backend-neutral driver of the pairwise engine: library code that has an
// op calls run<R>(ctx, op, x, y, payload, outputs) and the context's backend
// runs it (the CPU's blocked OpenMP loops, or the CUDA kernel body). An op
// used on the GPU must be instantiated in a .cu file (see
// src/cuda/pairwise_ops.cu); a CUDA build that lacks one fails to link.
#include <cstdint>
#include <vector>

#include "core/device.hpp"
#include "cpu/pairwise.hpp"
#include "cuda/pairwise.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/core/particle_set.hpp"
#include "pairwise/device_dim.hpp"
#include "pairwise/dispatch.hpp"

namespace flowsampler::pairwise::detail {

/// Checks that x and y share d and live where ctx computes.
template <class Real>
void expect_pair(const Context& ctx, const char* what, const ParticleSet<Real>& x, const ParticleSet<Real>& y) {
  FLOWSAMPLER_EXPECTS(x.belongs_to(ctx) && y.belongs_to(ctx),
                      what << ": x and y must live in the memory of the " << to_string(ctx.backend()) << " context");
  FLOWSAMPLER_EXPECTS(x.d() == y.d(), what << ": x has d = " << x.d() << " but y has d = " << y.d());
  FLOWSAMPLER_EXPECTS(y.n() < 0xffffffffu, what << ": y has " << y.n() << " points; at most 2^32 - 2 are supported");
}

// The CPU entry of one (R, Op, Real): row-major copies of y and its payload
// (one transpose per call, so that a tile row is contiguous for every lane),
// then the blocked loops of cpu/pairwise.hpp.
template <kernels::Reduction R, class Op, class Real>
void host_pairwise(const void* pop, const kernels::PairwiseDeviceArgs<Real>& a, int threads) {
  const Op& op = *static_cast<const Op*>(pop);
  const std::size_t m = a.m, d = static_cast<std::size_t>(a.d), q = static_cast<std::size_t>(Op::payload_dim(a.d));
  const std::size_t rows = m + cpu::detail::row_padding;  // zero rows after the m-th (see PairwiseArgs)
  std::vector<Real> y_rows(rows * d, Real(0)), p_rows(rows * q + 1, Real(0));
  for (std::size_t j = 0; j < m; ++j)
    for (std::size_t c = 0; c < d; ++c) y_rows[j * d + c] = a.y[c * m + j];
  for (std::size_t j = 0; j < m; ++j)
    for (std::size_t c = 0; c < q; ++c) p_rows[j * q + c] = a.py[c * m + j];
  const cpu::PairwiseArgs<Real> c{a.x, a.n, y_rows.data(), p_rows.data(), m, a.d, threads, a.skip_diagonal};
  kernels::dispatch_dim(a.d, [&](auto dc) {
    constexpr int D = decltype(dc)::value;
    if constexpr (R == kernels::Reduction::sum)
      cpu::pairwise_sum<D>(op, c, a.out);
    else if constexpr (R == kernels::Reduction::softmax)
      cpu::pairwise_softmax<D>(op, c, a.out, a.lse);
    else
      cpu::pairwise_kmin<D>(op, c, a.k, a.out, a.idx);
  });
}

template <kernels::Reduction R, class Op, class Real>
constexpr auto cuda_pairwise_entry() {
#ifdef FLOWSAMPLER_HAVE_CUDA
  return &cuda::pairwise<R, Op, Real>;
#else
  return static_cast<void (*)(cuda::Handles*, const void*, const kernels::PairwiseDeviceArgs<Real>&)>(nullptr);
#endif
}

template <class T>
struct same {
  using type = T;
};

/// Runs reduction R of op over all pairs. `py` is the y payload, column-major
/// m x Op::payload_dim(d) in ctx's memory (null when that is 0). Outputs
/// column-major in ctx's memory: out (n x p, or n x k for kmin), lse (n,
/// softmax; may be null when only the means are wanted), idx (n x k, kmin).
/// Requires y.n() > 0. Queued on ctx's stream: nothing waits for it.
template <kernels::Reduction R, class Op, class Real>
void run(const Context& ctx, const Op& op, const ParticleSet<Real>& x, const ParticleSet<Real>& y,
         const typename same<Real>::type* py, typename same<Real>::type* out,
         typename same<Real>::type* lse = nullptr, std::uint32_t* idx = nullptr, int k = 0, bool skip_diagonal = false) {
  const int d = static_cast<int>(x.d());
  FLOWSAMPLER_EXPECTS(!skip_diagonal || (R == kernels::Reduction::softmax && x.n() == y.n()),
                      "pairwise: leaving out the pairs j = i needs a softmax over a set and itself (n = m)");
  if (x.n() == 0) return;
  const kernels::PairwiseDeviceArgs<Real> a{x.data(), x.n(), y.data(), py, y.n(), d, out, lse, idx, k, nullptr, nullptr, skip_diagonal};
  // The runtime-d device path keeps each lane's state in memory: n x p values.
  // It also runs the dimensions whose compile-time state would spill
  // registers (pairwise/device_dim.hpp), so the scratch follows the device's choice.
  std::size_t scratch = 0;
  kernels::dispatch_device_dim<Op, Real>(d, [&](auto dc) {
    if (decltype(dc)::value == 0 && R != kernels::Reduction::kmin) scratch = x.n() * static_cast<std::size_t>(Op::value_dim(d));
  });
  flowsampler::detail::device_of(ctx).pairwise(
      flowsampler::detail::Pairwise<Real>{&host_pairwise<R, Op, Real>, cuda_pairwise_entry<R, Op, Real>(), &op, a, scratch});
}

}  // namespace flowsampler::pairwise::detail
