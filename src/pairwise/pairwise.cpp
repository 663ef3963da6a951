#include "flowsampler/pairwise/pairwise.hpp"

#include <cmath>
#include <utility>

#include "cloud/lincomb.hpp"
#include "core/launch.hpp"
#include "pairwise/engine.hpp"
#include "pairwise/shipped_ops.hpp"

namespace flowsampler::pairwise {

Kernel parse_kernel(const std::string& name, const std::string& what) {
  return parse_name(kernel_names, name, what);
}

std::string to_string(Kernel k) { return name_of(kernel_names, k); }

namespace {

using kernels::Reduction;

template <class Real>
void expect_column(const Context& ctx, const char* what, const char* name, const ParticleSet<Real>* c,
                   std::size_t m) {
  if (!c) return;
  FLOWSAMPLER_EXPECTS(c->belongs_to(ctx), what << ": " << name << " must live in the context's memory");
  FLOWSAMPLER_EXPECTS(c->d() == 1 && c->n() == m,
                      what << ": " << name << " must be M x 1 = " << m << " x 1, got " << c->n() << " x " << c->d());
}

template <class Real>
ParticleSet<Real> zeros(const Context& ctx, std::size_t n, std::size_t d) {
  ParticleSet<Real> z(ctx, n, d);
  flowsampler::detail::for_each(ctx, z.size(), kernels::Fill<Real>{z.data(), Real(0)});
  return z;
}

template <class Real>
ParticleSet<Real> kernel_reduce(const char* what, bool grad, const Context& ctx, const KernelSpec& kernel,
                                const ParticleSet<Real>& x, const ParticleSet<Real>& y,
                                const ParticleSet<Real>* weights) {
  detail::expect_pair(ctx, what, x, y);
  FLOWSAMPLER_EXPECTS(std::isfinite(kernel.bandwidth) && kernel.bandwidth > 0,
                      what << ": bandwidth must be finite and > 0, got " << kernel.bandwidth);
  expect_column(ctx, what, "weights", weights, y.n());
  const std::size_t p = grad ? x.d() : 1;
  if (y.n() == 0 || x.n() == 0) return zeros<Real>(ctx, x.n(), p);
  ParticleSet<Real> out(ctx, x.n(), p);
  detail::visit_kernel_op<Real>(kernel, grad, weights != nullptr, [&](const auto& op) {
    detail::run<Reduction::sum>(ctx, op, x, y, weights ? weights->data() : nullptr, out.data());
  });
  return out;
}

}  // namespace

template <class Real>
ParticleSet<Real> kernel_sum(const Context& ctx, const KernelSpec& kernel, const ParticleSet<Real>& x,
                             const ParticleSet<Real>& y, const ParticleSet<Real>* weights) {
  return kernel_reduce("kernel_sum", false, ctx, kernel, x, y, weights);
}

template <class Real>
ParticleSet<Real> kernel_grad_sum(const Context& ctx, const KernelSpec& kernel, const ParticleSet<Real>& x,
                                  const ParticleSet<Real>& y, const ParticleSet<Real>* weights) {
  return kernel_reduce("kernel_grad_sum", true, ctx, kernel, x, y, weights);
}

namespace {

template <class Real>
SoftmaxResult<Real> mean_shift_impl(const Context& ctx, double eps, bool laplace, const ParticleSet<Real>& x,
                                    const ParticleSet<Real>& y, const ParticleSet<Real>* log_weights, bool exclude_self) {
  detail::expect_pair(ctx, "mean_shift", x, y);
  FLOWSAMPLER_EXPECTS(std::isfinite(eps) && eps > 0, "mean_shift: the bandwidth must be finite and > 0, got " << eps);
  FLOWSAMPLER_EXPECTS(y.n() > 0, "mean_shift: y is empty (M = 0); a softmax over no points is undefined");
  expect_column(ctx, "mean_shift", "log_weights", log_weights, y.n());
  FLOWSAMPLER_EXPECTS(!exclude_self || x.n() == y.n(),
                      "mean_shift: exclude_self needs x and y to be the same set, got n = " << x.n() << " and m = " << y.n());
  SoftmaxResult<Real> r{ParticleSet<Real>(ctx, x.n(), x.d()), ParticleSet<Real>(ctx, x.n(), 1)};
  if (x.n() == 0) return r;
  detail::visit_mean_shift_op<Real>(
      eps, log_weights != nullptr,
      [&](const auto& op) {
        detail::run<Reduction::softmax>(ctx, op, x, y, log_weights ? log_weights->data() : nullptr, r.mean.data(),
                                        r.lse.data(), nullptr, 0, exclude_self);
      },
      laplace);
  return r;
}

}  // namespace

template <class Real>
SoftmaxResult<Real> mean_shift(const Context& ctx, double eps, const ParticleSet<Real>& x,
                               const ParticleSet<Real>& y, const ParticleSet<Real>* log_weights) {
  return mean_shift_impl(ctx, eps, false, x, y, log_weights, false);
}

template <class Real>
SoftmaxResult<Real> mean_shift(const Context& ctx, const KernelSpec& kernel, const ParticleSet<Real>& x,
                               const ParticleSet<Real>& y, const ParticleSet<Real>* log_weights, bool exclude_self) {
  FLOWSAMPLER_EXPECTS(kernel.kind == Kernel::gaussian || kernel.kind == Kernel::laplace,
                      "mean_shift: the kernel must be gaussian or laplace, got " << to_string(kernel.kind));
  return mean_shift_impl(ctx, kernel.bandwidth, kernel.kind == Kernel::laplace, x, y, log_weights, exclude_self);
}

namespace {
// softmin_sqdist and softmin_lse: the checks, then the pass with or without the mean.
template <bool Mean, class Real>
SoftmaxResult<Real> softmin(const char* name, const Context& ctx, double eps, const ParticleSet<Real>& x,
                            const ParticleSet<Real>& y, const ParticleSet<Real>& log_weights) {
  detail::expect_pair(ctx, name, x, y);
  FLOWSAMPLER_EXPECTS(std::isfinite(eps) && eps > 0, name << ": eps must be finite and > 0, got " << eps);
  FLOWSAMPLER_EXPECTS(y.n() > 0, name << ": y is empty (M = 0)");
  expect_column(ctx, name, "log_weights", &log_weights, y.n());
  SoftmaxResult<Real> r{ParticleSet<Real>(ctx, x.n(), 1), ParticleSet<Real>(ctx, x.n(), 1)};
  if (x.n() == 0) return r;
  detail::run<Reduction::softmax>(ctx, detail::softmin_op<Real, Mean>(eps), x, y, log_weights.data(), r.mean.data(),
                                  r.lse.data());
  return r;
}
}  // namespace

template <class Real>
SoftmaxResult<Real> softmin_sqdist(const Context& ctx, double eps, const ParticleSet<Real>& x, const ParticleSet<Real>& y,
                                   const ParticleSet<Real>& log_weights) {
  return softmin<true>("softmin_sqdist", ctx, eps, x, y, log_weights);
}

template <class Real>
ParticleSet<Real> softmin_lse(const Context& ctx, double eps, const ParticleSet<Real>& x, const ParticleSet<Real>& y,
                              const ParticleSet<Real>& log_weights) {
  return std::move(softmin<false>("softmin_lse", ctx, eps, x, y, log_weights).lse);
}

template <class Real>
KminResult<Real> kmin_sqdist(const Context& ctx, const ParticleSet<Real>& x, const ParticleSet<Real>& y, int k) {
  detail::expect_pair(ctx, "kmin_sqdist", x, y);
  FLOWSAMPLER_EXPECTS(k >= 1 && k <= 32, "kmin_sqdist: k must be in [1, 32], got " << k);
  const std::size_t kk = static_cast<std::size_t>(k);
  KminResult<Real> r{ParticleSet<Real>(ctx, x.n(), kk), Buffer<std::uint32_t>(ctx, x.n() * kk)};
  if (x.n() == 0) return r;
  if (y.n() == 0) {
    flowsampler::detail::for_each(ctx, r.dist2.size(), kernels::Fill<Real>{r.dist2.data(), std::numeric_limits<Real>::infinity()});
    flowsampler::detail::for_each(ctx, r.index.size(), kernels::Fill<std::uint32_t>{r.index.data(), 0xffffffffu});
    return r;
  }
  detail::run<Reduction::kmin>(ctx, kernels::SqDistOp<Real>{}, x, y, nullptr, r.dist2.data(), nullptr,
                               r.index.data(), k);
  return r;
}

#define FLOWSAMPLER_INSTANTIATE(Real)                                                                          \
  template ParticleSet<Real> kernel_sum<Real>(const Context&, const KernelSpec&, const ParticleSet<Real>&,     \
                                              const ParticleSet<Real>&, const ParticleSet<Real>*);             \
  template ParticleSet<Real> kernel_grad_sum<Real>(const Context&, const KernelSpec&, const ParticleSet<Real>&, \
                                                   const ParticleSet<Real>&, const ParticleSet<Real>*);        \
  template SoftmaxResult<Real> mean_shift<Real>(const Context&, double, const ParticleSet<Real>&,              \
                                                const ParticleSet<Real>&, const ParticleSet<Real>*);           \
  template SoftmaxResult<Real> mean_shift<Real>(const Context&, const KernelSpec&, const ParticleSet<Real>&,      \
                                                const ParticleSet<Real>&, const ParticleSet<Real>*, bool);     \
  template SoftmaxResult<Real> softmin_sqdist<Real>(const Context&, double, const ParticleSet<Real>&,          \
                                                    const ParticleSet<Real>&, const ParticleSet<Real>&);       \
  template ParticleSet<Real> softmin_lse<Real>(const Context&, double, const ParticleSet<Real>&,              \
                                               const ParticleSet<Real>&, const ParticleSet<Real>&);            \
  template KminResult<Real> kmin_sqdist<Real>(const Context&, const ParticleSet<Real>&, const ParticleSet<Real>&, int);
FLOWSAMPLER_INSTANTIATE(float)
FLOWSAMPLER_INSTANTIATE(double)

}  // namespace flowsampler::pairwise
