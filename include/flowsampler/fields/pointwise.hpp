#pragma once
/// \file A user's per-particle velocity functor as a Field for the integrators.
///
///     struct Rotation {
///       void operator()(double t, const double* z, double* v) const { v[0] = -z[1]; v[1] = z[0]; }
///     };
///     auto field = flowsampler::fields::pointwise<double>(2, Rotation{});
///     flowsampler::integrate::integrate(ctx, field, particles, grid, Method::rk4);
///
/// The functor sees one particle at a time as d contiguous coordinates (the
/// cloud itself is column-major) and writes its d velocity components. It
/// must be safe to call concurrently (it is called from several threads).
/// Header-only, so the functor inlines into the particle loop. A functor
/// marked __host__ __device__ compiles here unchanged; device-resident clouds
/// are evaluated on the host for now (one round trip per evaluation).
#include <cstddef>
#include <utility>
#include <vector>

#include "flowsampler/core/error.hpp"
#include "flowsampler/core/parallel_rows.hpp"
#include "flowsampler/fields/field.hpp"

namespace flowsampler::fields {

template <class Real, class F>
class PointwiseField final : public Field<Real> {
 public:
  PointwiseField(std::size_t d, F f) : d_(d), f_(std::move(f)) {
    FLOWSAMPLER_EXPECTS(d > 0, "pointwise field: d must be positive, got " << d);
  }
  std::size_t dim() const override { return d_; }
  bool pointwise() const override { return true; }
  FieldValues<Real> evaluate(const Context& ctx, double t, const ParticleSet<Real>& z,
                             const FieldRequest& what) const override {
    this->require(what, "pointwise field evaluation");
    FLOWSAMPLER_EXPECTS(z.d() == d_, "pointwise field: particles have d = " << z.d() << ", the field d = " << d_);
    const std::size_t n = z.n();
    const bool host = z.memory() == Memory::host;
    std::vector<Real> staged;
    if (!host) staged = z.to_host();
    const Real* zc = host ? z.data() : staged.data();
    std::vector<Real> out(n * d_);
    Real* vc = out.data();
    // One call per block of rows on the context's threads; the functor's
    // exceptions (and an allocation's) reach the caller.
    flowsampler::detail::parallel_rows(ctx, n, 4096, [&](std::size_t begin, std::size_t end) {
      std::vector<Real> zi(d_), vi(d_);  // one particle, gathered from the columns
      for (std::size_t i = begin; i < end; ++i) {
        for (std::size_t k = 0; k < d_; ++k) zi[k] = zc[k * n + i];
        f_(t, static_cast<const Real*>(zi.data()), vi.data());
        for (std::size_t k = 0; k < d_; ++k) vc[k * n + i] = vi[k];
      }
    });
    FieldValues<Real> r;
    r.velocity = ParticleSet<Real>::from_column_major(ctx, out.data(), n, d_);
    return r;
  }

 private:
  std::size_t d_;
  F f_;
};

/// A Field from a per-particle functor `f(double t, const Real* z, Real* v)`.
template <class Real, class F>
PointwiseField<Real, F> pointwise(std::size_t d, F f) {
  return PointwiseField<Real, F>(d, std::move(f));
}

}  // namespace flowsampler::fields
