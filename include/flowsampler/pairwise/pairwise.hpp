#pragma once
/// \file N x M pairwise reductions without storing the N x M matrix.
///
/// x is N x d and y is M x d (same d), both on the context's backend. Float
/// and double. Float sums are accumulated in float within tiles of y and in
/// double across tiles; their relative error is documented and tested
/// (tests/pairwise): below 1e-5 for M = 2^16 positive terms.
#include <cstdint>
#include <string>

#include "flowsampler/core/buffer.hpp"
#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"
#include "flowsampler/core/names.hpp"

namespace flowsampler::pairwise {

/// Radial kernels with bandwidth h > 0, r = |x - y|:
/// gaussian exp(-r^2/(2h^2)), laplace exp(-r/h), imq (1 + r^2/h^2)^(-1/2),
/// energy -r/h (the energy-distance kernel).
enum class Kernel { gaussian, laplace, imq, energy };

/// The names of Kernel values: parsing, printing and the CLI's choices (core/names.hpp).
inline constexpr NameTable<Kernel, 4> kernel_names{{
    {Kernel::gaussian, "gaussian"},
    {Kernel::laplace, "laplace"},
    {Kernel::imq, "imq"},
    {Kernel::energy, "energy"}}};

/// "gaussian", "laplace", "imq", "energy"; Error naming `what` otherwise.
Kernel parse_kernel(const std::string& name, const std::string& what = "kernel");
std::string to_string(Kernel k);

struct KernelSpec {
  Kernel kind = Kernel::gaussian;
  double bandwidth = 1.0;  ///< h > 0
};

/// out_i = sum_j w_j k(x_i, y_j), N x 1. `weights` is M x 1 or null (all 1).
/// M = 0 gives zeros.
template <class Real>
ParticleSet<Real> kernel_sum(const Context& ctx, const KernelSpec& kernel, const ParticleSet<Real>& x,
                             const ParticleSet<Real>& y, const ParticleSet<Real>* weights = nullptr);

/// out_i = sum_j w_j grad_x k(x_i, y_j), N x d. At r = 0 the Laplace and
/// energy gradients are 0. M = 0 gives zeros.
template <class Real>
ParticleSet<Real> kernel_grad_sum(const Context& ctx, const KernelSpec& kernel, const ParticleSet<Real>& x,
                                  const ParticleSet<Real>& y, const ParticleSet<Real>* weights = nullptr);

/// Softmax-weighted mean and its log-normalizer.
template <class Real>
struct SoftmaxResult {
  ParticleSet<Real> mean;  ///< N x p
  ParticleSet<Real> lse;   ///< N x 1: log sum_j exp(logit_ij)
};

/// Kernel mean shift with bandwidth eps > 0:
/// mean_i = sum_j softmax_j(-|x_i - y_j|^2 / (2 eps^2) + log w_j) (y_j - x_i)
/// (N x d), lse_i the log-normalizer. `log_weights` is M x 1 or null (all 0);
/// entries may be -inf (weight 0). A row whose logits are all -inf gets
/// mean 0 and lse -inf. M = 0 is an error.
template <class Real>
SoftmaxResult<Real> mean_shift(const Context& ctx, double eps, const ParticleSet<Real>& x,
                               const ParticleSet<Real>& y, const ParticleSet<Real>* log_weights = nullptr);

/// The same with the Laplace kernel as well: softmax of log k(x_i, y_j) +
/// log w_j with k = exp(-r^2 / (2 h^2)) (gaussian) or exp(-r / h) (laplace),
/// h = kernel.bandwidth. Error for the imq and energy kernels.
/// `exclude_self`: x and y are the same set; the pairs j = i are left out of
/// the softmax (exactly: their logits are -inf, nothing is subtracted), which
/// needs n = m. A point alone (n = 1) gets mean 0 and lse -inf.
template <class Real>
SoftmaxResult<Real> mean_shift(const Context& ctx, const KernelSpec& kernel, const ParticleSet<Real>& x,
                               const ParticleSet<Real>& y, const ParticleSet<Real>* log_weights = nullptr,
                               bool exclude_self = false);

/// Soft-min of the squared distance, the building block of log-domain
/// Sinkhorn: lse_i = log sum_j exp(-|x_i - y_j|^2 / eps + lw_j) and mean_i =
/// the softmax-weighted mean of |x_i - y_j|^2 over j (N x 1). `log_weights`
/// (M x 1, entries may be -inf) is required. M = 0 is an error.
template <class Real>
SoftmaxResult<Real> softmin_sqdist(const Context& ctx, double eps, const ParticleSet<Real>& x, const ParticleSet<Real>& y,
                                   const ParticleSet<Real>& log_weights);

/// softmin_sqdist's lse alone (N x 1): where the mean cost is not needed (a
/// Sinkhorn iteration) the pass is cheaper by the cost's second evaluation.
template <class Real>
ParticleSet<Real> softmin_lse(const Context& ctx, double eps, const ParticleSet<Real>& x, const ParticleSet<Real>& y,
                              const ParticleSet<Real>& log_weights);

/// The k smallest squared distances from each x_i to the y_j, ascending.
template <class Real>
struct KminResult {
  ParticleSet<Real> dist2;      ///< N x k, column-major; +inf where k > M
  Buffer<std::uint32_t> index;  ///< N x k, column-major; 0xffffffff where k > M
};

/// k nearest neighbours by squared Euclidean distance, 1 <= k <= 32.
/// Ties keep the smaller index first.
template <class Real>
KminResult<Real> kmin_sqdist(const Context& ctx, const ParticleSet<Real>& x, const ParticleSet<Real>& y, int k);

}  // namespace flowsampler::pairwise
