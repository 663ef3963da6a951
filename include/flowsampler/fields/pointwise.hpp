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
#include "flowsampler/core/first_exception.hpp"
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
    const long long nn = static_cast<long long>(n);
    flowsampler::detail::FirstException failure;  // the functor's, or an allocation's
    const int threads = ctx.threads();
    (void)threads;
#if defined(_OPENMP)
#pragma omp parallel num_threads(threads) if (nn > 4096)
#endif
    {
      std::vector<Real> zi, vi;  // one particle, gathered from the columns
#if defined(_OPENMP)
#pragma omp for schedule(static)
#endif
      for (long long i = 0; i < nn; ++i) {
        failure.run([&] {
          if (zi.size() != d_) zi.resize(d_), vi.resize(d_);
          for (std::size_t k = 0; k < d_; ++k) zi[k] = zc[k * n + static_cast<std::size_t>(i)];
          f_(t, static_cast<const Real*>(zi.data()), vi.data());
          for (std::size_t k = 0; k < d_; ++k) vc[k * n + static_cast<std::size_t>(i)] = vi[k];
        });
      }
    }
    failure.rethrow();
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
