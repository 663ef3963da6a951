#pragma once
// Calling the library on one or two clouds from Python (flowsampler.metrics,
// flowsampler.pairwise): the context, the precision (float64 when any array is)
// and the GIL released around the computation.
#include <optional>

#include "arrays.hpp"
#include "flowsampler/core/error.hpp"

namespace flowsampler::python {

// The default context: one per thread (a context is not shared between
// threads computing at once), on backend "auto" like the CLI's, so that no
// call pays for creating one.
inline Context& default_context() {
  static thread_local Context ctx = Context::create(Backend::automatic);
  return ctx;
}

/// `context` (a flowsampler.Context) or, for None, the default context.
inline Context& context_of(nb::handle context) {
  if (context.is_none()) return default_context();
  FLOWSAMPLER_EXPECTS(nb::isinstance<Context>(context), "context: expected a flowsampler.Context or None");
  return nb::cast<Context&>(context);
}

/// Calls f(ctx, x) with x as a cloud in the precision of the array, the GIL released.
template <class F>
auto one(nb::handle context, const AnyArray& x, F&& f) {
  Context& ctx = context_of(context);
  auto go = [&](auto real) {
    using Real = decltype(real);
    const ParticleSet<Real> cx = as_cloud<Real>(ctx, x, "x");
    nb::gil_scoped_release unlocked;
    return f(ctx, cx);
  };
  return is_float64(x, "x") ? go(double{}) : go(float{});
}

/// Calls f(ctx, x, y, w) with the clouds in one precision (float64 when any
/// array is), w the per-point column `w_name` of y (M values) or null, the GIL released.
template <class F>
auto two_weighted(nb::handle context, const AnyArray& x, const AnyArray& y, const std::optional<AnyArray>& w,
                  const char* w_name, F&& f) {
  Context& ctx = context_of(context);
  auto go = [&](auto real) {
    using Real = decltype(real);
    const ParticleSet<Real> cx = as_cloud<Real>(ctx, x, "x"), cy = as_cloud<Real>(ctx, y, "y");
    FLOWSAMPLER_EXPECTS(cx.d() == cy.d(), "y: has d = " << cy.d() << ", x has d = " << cx.d());
    ParticleSet<Real> cw;
    if (w) {
      FLOWSAMPLER_EXPECTS(w->ndim() == 1 && w->shape(0) == cy.n(),
                          w_name << ": expected shape (" << cy.n() << ",) (one value per point of y)");
      cw = as_cloud<Real>(ctx, *w, w_name);
    }
    nb::gil_scoped_release unlocked;
    return f(ctx, cx, cy, w ? &cw : nullptr);
  };
  const bool f64 = is_float64(x, "x") || is_float64(y, "y") || (w && is_float64(*w, w_name));
  return f64 ? go(double{}) : go(float{});
}

/// Calls f(ctx, x, y) with both clouds in one precision: float64 when either is.
template <class F>
auto two(nb::handle context, const AnyArray& x, const AnyArray& y, F&& f) {
  return two_weighted(context, x, y, std::nullopt, "", [&](const Context& ctx, const auto& cx, const auto& cy, const auto*) {
    return f(ctx, cx, cy);
  });
}

}  // namespace flowsampler::python
