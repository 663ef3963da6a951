#pragma once
// The backend-neutral driver of the pairwise engine: library code that has an
// op calls run<R>(ctx, op, x, y, payload, outputs) and gets the CPU or the
// CUDA backend. An op used on the GPU must be instantiated in a .cu file
// (see src/cuda/pairwise_ops.cu).
#include <cstdint>
#include <vector>

#include "core/context_impl.hpp"
#include "cpu/pairwise.hpp"
#include "cuda/pairwise.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/core/particle_set.hpp"
#include "pairwise/dispatch.hpp"

namespace flowsampler::pairwise::detail {

/// Checks that x and y share d and live where ctx computes.
template <class Real>
void expect_pair(const Context& ctx, const char* what, const ParticleSet<Real>& x, const ParticleSet<Real>& y) {
  const Memory where = memory_of(ctx);
  FLOWSAMPLER_EXPECTS(x.memory() == where && y.memory() == where,
                      what << ": x and y must live in the memory of the " << to_string(ctx.backend()) << " context");
  FLOWSAMPLER_EXPECTS(x.d() == y.d(), what << ": x has d = " << x.d() << " but y has d = " << y.d());
  FLOWSAMPLER_EXPECTS(y.n() < 0xffffffffu, what << ": y has " << y.n() << " points; at most 2^32 - 2 are supported");
}

/// Runs reduction R of op over all pairs. `py` is the y payload, column-major
/// m x Op::payload_dim(d) in ctx's memory (null when that is 0). Outputs
/// column-major in ctx's memory: out (n x p, or n x k for kmin), lse (n,
/// softmax; may be null when only the means are
/// wanted), idx (n x k, kmin). Requires y.n() > 0.
template <class T>
struct same {
  using type = T;
};

template <kernels::Reduction R, class Op, class Real>
void run(const Context& ctx, const Op& op, const ParticleSet<Real>& x, const ParticleSet<Real>& y,
         const typename same<Real>::type* py, typename same<Real>::type* out,
         typename same<Real>::type* lse = nullptr, std::uint32_t* idx = nullptr, int k = 0, bool skip_diagonal = false) {
  const int d = static_cast<int>(x.d());
  FLOWSAMPLER_EXPECTS(!skip_diagonal || (R == kernels::Reduction::softmax && x.n() == y.n()),
                      "pairwise: leaving out the pairs j = i needs a softmax over a set and itself (n = m)");
  if (ctx.is_cuda()) {
#ifdef FLOWSAMPLER_HAVE_CUDA
    kernels::PairwiseDeviceArgs<Real> a{x.data(), x.n(), y.data(), py, y.n(), d, out, lse, idx, k, nullptr, nullptr, skip_diagonal};
    cuda::pairwise<R>(ctx.impl().cuda, op, a);
#endif
    return;
  }
  // Row-major copies of y and its payload: one transpose per call, so that a
  // tile row is contiguous for every lane.
  const std::size_t m = y.n(), q = static_cast<std::size_t>(Op::payload_dim(d));
  std::vector<Real> y_rows(m * x.d()), p_rows(m * q + 1);
  for (std::size_t j = 0; j < m; ++j)
    for (std::size_t c = 0; c < x.d(); ++c) y_rows[j * x.d() + c] = y.data()[c * m + j];
  for (std::size_t j = 0; j < m; ++j)
    for (std::size_t c = 0; c < q; ++c) p_rows[j * q + c] = py[c * m + j];
  const cpu::PairwiseArgs<Real> a{x.data(), x.n(), y_rows.data(), p_rows.data(), m, d, ctx.threads(), skip_diagonal};
  kernels::dispatch_dim(d, [&](auto dc) {
    constexpr int D = decltype(dc)::value;
    if constexpr (R == kernels::Reduction::sum)
      cpu::pairwise_sum<D>(op, a, out);
    else if constexpr (R == kernels::Reduction::softmax)
      cpu::pairwise_softmax<D>(op, a, out, lse);
    else
      cpu::pairwise_kmin<D>(op, a, k, out, idx);
  });
}

}  // namespace flowsampler::pairwise::detail
