// flowsampler.pairwise: the library's N x M pairwise reductions
// (flowsampler/pairwise/pairwise.hpp) on arrays, without the N x M matrix.
// Computed in float64 when any array is, else float32; results in that dtype.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "dispatch.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/pairwise/pairwise.hpp"

namespace flowsampler::python {

using nb::literals::operator""_a;
namespace pw = flowsampler::pairwise;

namespace {

pw::KernelSpec kernel_spec(const std::string& kernel, double bandwidth) {
  pw::KernelSpec k;
  k.kind = pw::parse_kernel(kernel, "kernel");
  FLOWSAMPLER_EXPECTS(bandwidth > 0, "bandwidth: expected > 0, got " << bandwidth);
  k.bandwidth = bandwidth;
  return k;
}

// An N x 1 result as a (N,) array, an N x p one as (N, p), in the computation's dtype.
template <class Real>
nb::object column(const ParticleSet<Real>& p) {
  return numpy_from(p.to_row_major(), {p.n()});
}
template <class Real>
nb::object rows(const ParticleSet<Real>& p) {
  return numpy_from(p.to_row_major(), {p.n(), p.d()});
}

// (mean, lse): the mean as (N,) or (N, d).
template <class Real>
nb::object softmax_pair(const pw::SoftmaxResult<Real>& r, bool mean_is_column) {
  return nb::make_tuple(mean_is_column ? column(r.mean) : rows(r.mean), column(r.lse));
}

// sum_j w_j k(x_i, y_j) (a column) or its gradient (rows): `reduce` is
// pw::kernel_sum or pw::kernel_grad_sum.
template <class Reduce>
nb::object weighted_kernel(const AnyArray& x, const AnyArray& y, const std::string& kernel, double bandwidth,
                           const std::optional<AnyArray>& weights, nb::handle context, bool is_column, Reduce reduce) {
  const pw::KernelSpec k = kernel_spec(kernel, bandwidth);
  return two_weighted(context, x, y, weights, "weights", [&](const Context& c, const auto& a, const auto& b, const auto* w) {
    auto s = reduce(c, k, a, b, w);
    nb::gil_scoped_acquire locked;
    return is_column ? column(s) : rows(s);
  });
}

}  // namespace

void bind_pairwise(nb::module_& m) {
  m.def(
      "kernel_sum",
      [](const AnyArray& x, const AnyArray& y, const std::string& kernel, double bandwidth,
         const std::optional<AnyArray>& weights, nb::handle context) {
        return weighted_kernel(x, y, kernel, bandwidth, weights, context, true,
                               [](const auto&... a) { return pw::kernel_sum(a...); });
      },
      "x"_a, "y"_a, nb::kw_only(), "kernel"_a = "gaussian", "bandwidth"_a = 1.0, "weights"_a = nb::none(),
      "context"_a = nb::none(),
      R"(out_i = sum_j w_j k(x_i, y_j), shape (N,).

kernel: gaussian exp(-r^2/(2h^2)), laplace exp(-r/h), imq (1 + r^2/h^2)^(-1/2) or energy -r/h,
r = |x_i - y_j|, h = bandwidth; weights: (M,) or None (all 1).)");
  m.def(
      "kernel_grad_sum",
      [](const AnyArray& x, const AnyArray& y, const std::string& kernel, double bandwidth,
         const std::optional<AnyArray>& weights, nb::handle context) {
        return weighted_kernel(x, y, kernel, bandwidth, weights, context, false,
                               [](const auto&... a) { return pw::kernel_grad_sum(a...); });
      },
      "x"_a, "y"_a, nb::kw_only(), "kernel"_a = "gaussian", "bandwidth"_a = 1.0, "weights"_a = nb::none(),
      "context"_a = nb::none(),
      "out_i = sum_j w_j grad_x k(x_i, y_j), shape (N, d) (kernels as kernel_sum; 0 at r = 0 for laplace and energy).");
  m.def(
      "mean_shift",
      [](const AnyArray& x, const AnyArray& y, const std::string& kernel, double bandwidth,
         const std::optional<AnyArray>& log_weights, bool exclude_self, nb::handle context) {
        const pw::KernelSpec k = kernel_spec(kernel, bandwidth);
        return two_weighted(context, x, y, log_weights, "log_weights", [&](const Context& c, const auto& a, const auto& b, const auto* w) {
          auto r = pw::mean_shift(c, k, a, b, w, exclude_self);
          nb::gil_scoped_acquire locked;
          return softmax_pair(r, false);
        });
      },
      "x"_a, "y"_a, nb::kw_only(), "kernel"_a = "gaussian", "bandwidth"_a = 1.0, "log_weights"_a = nb::none(),
      "exclude_self"_a = false, "context"_a = nb::none(),
      R"((mean (N, d), lse (N,)): the softmax over j of log k(x_i, y_j) + log_weights_j,
mean_i = sum_j softmax_ij (y_j - x_i) and lse_i its log-normalizer. kernel: gaussian or laplace.
exclude_self: x and y are the same cloud and the pairs j = i are left out. A row with no
weight left gets mean 0 and lse -inf.)");
  m.def(
      "softmin_sqdist",
      [](const AnyArray& x, const AnyArray& y, double eps, const AnyArray& log_weights, nb::handle context) {
        FLOWSAMPLER_EXPECTS(eps > 0, "eps: expected > 0, got " << eps);
        return two_weighted(context, x, y, log_weights, "log_weights", [&](const Context& c, const auto& a, const auto& b, const auto* w) {
          auto r = pw::softmin_sqdist(c, eps, a, b, *w);
          nb::gil_scoped_acquire locked;
          return softmax_pair(r, true);
        });
      },
      "x"_a, "y"_a, nb::kw_only(), "eps"_a, "log_weights"_a, "context"_a = nb::none(),
      R"((mean (N,), lse (N,)): lse_i = log sum_j exp(-|x_i - y_j|^2 / eps + log_weights_j), the
soft-min of log-domain Sinkhorn, and mean_i the softmax-weighted mean of |x_i - y_j|^2.)");
  m.def(
      "kmin_sqdist",
      [](const AnyArray& x, const AnyArray& y, int k, nb::handle context) {
        FLOWSAMPLER_EXPECTS(k >= 1 && k <= 32, "k: expected 1..32, got " << k);
        return two(context, x, y, [&](const Context& c, const auto& a, const auto& b) {
          auto r = pw::kmin_sqdist(c, a, b, k);
          std::vector<std::uint32_t> raw(r.index.size());
          r.index.copy_to_host(raw.data());
          // Column-major N x k to row-major, the missing neighbours (k > M) as -1.
          const std::size_t n = a.n(), kk = std::size_t(k);
          std::vector<std::int64_t> index(n * kk);
          for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < kk; ++j) {
              const std::uint32_t v = raw[j * n + i];
              index[i * kk + j] = v == 0xffffffffu ? -1 : std::int64_t(v);
            }
          nb::gil_scoped_acquire locked;
          return nb::make_tuple(rows(r.dist2), numpy_from(std::move(index), {n, kk}));
        });
      },
      "x"_a, "y"_a, nb::kw_only(), "k"_a, "context"_a = nb::none(),
      R"((dist2 (N, k), index (N, k)): the k smallest squared distances from each x_i to the y_j,
ascending (ties: the smaller index first), 1 <= k <= 32; where k > M, dist2 is inf and index -1.)");
}

}  // namespace flowsampler::python
