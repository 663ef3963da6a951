#include "arrays.hpp"

#include <cmath>
#include <cstdint>
#include <utility>

#include "flowsampler/core/error.hpp"

namespace flowsampler::python {

bool is_float64(const AnyArray& x, const char* name) {
  if (x.dtype() == nb::dtype<double>()) return true;
  FLOWSAMPLER_EXPECTS(x.dtype() == nb::dtype<float>(),
                      name << ": expected float32 or float64 values, got dtype code " << int(x.dtype().code) << " of "
                           << int(x.dtype().bits) << " bits (convert with .astype(numpy.float64))");
  return false;
}

namespace {

// Column-major copy of an n x d array with element strides (s0, s1), checked finite.
template <class Real, class Src>
void copy_columns(Real* out, const Src* src, std::size_t n, std::size_t d, std::int64_t s0, std::int64_t s1,
                  const char* name) {
  for (std::size_t k = 0; k < d; ++k)
    for (std::size_t i = 0; i < n; ++i) {
      const Src v = src[std::int64_t(i) * s0 + std::int64_t(k) * s1];
      const Real r = static_cast<Real>(v);
      FLOWSAMPLER_EXPECTS(std::isfinite(r), name << ": row " << i << ", column " << k << " holds " << v
                                                 << (std::isfinite(v) ? ", beyond the range of the precision in use" : "")
                                                 << "; particles must be finite");
      out[k * n + i] = r;
    }
}

template <class Real>
void expect_finite_columns(const Real* cols, std::size_t n, std::size_t d, const char* name) {
  for (std::size_t k = 0; k < d; ++k)
    for (std::size_t i = 0; i < n; ++i)
      FLOWSAMPLER_EXPECTS(std::isfinite(cols[k * n + i]), name << ": row " << i << ", column " << k << " holds "
                                                               << cols[k * n + i] << "; particles must be finite");
}

}  // namespace

template <class Real>
ParticleSet<Real> as_cloud(const Context& ctx, const AnyArray& x, const char* name, bool* copied) {
  FLOWSAMPLER_EXPECTS(x.device_type() == nb::device::cpu::value,
                      name << ": the array lives on a device (DLPack device type " << x.device_type()
                           << "); this package reads host memory: pass a CPU array (e.g. tensor.cpu())");
  FLOWSAMPLER_EXPECTS(x.ndim() == 1 || x.ndim() == 2, name << ": expected shape (N, d) or (N,), got " << x.ndim()
                                                           << " dimensions");
  const std::size_t n = x.shape(0), d = x.ndim() == 2 ? x.shape(1) : 1;
  FLOWSAMPLER_EXPECTS(d >= 1, name << ": shape (N, d) needs d >= 1, got d = 0");
  const std::int64_t s0 = x.stride(0), s1 = x.ndim() == 2 ? x.stride(1) : std::int64_t(n);
  const bool f64 = is_float64(x, name);
  // Fortran order: unit stride down a column, N between columns (any stride when the extent is 1).
  const bool column_major = (n <= 1 || s0 == 1) && (d <= 1 || s1 == std::int64_t(n));
  if (f64 == (sizeof(Real) == 8) && column_major && !ctx.on_device()) {
    const Real* cols = static_cast<const Real*>(x.data());
    expect_finite_columns(cols, n, d, name);
    if (copied) *copied = false;
    return ParticleSet<Real>::view(cols, n, d);
  }
  if (copied) *copied = true;
  ParticleSet<Real> host(n, d, Memory::host);
  if (f64)
    copy_columns(host.data(), static_cast<const double*>(x.data()), n, d, s0, s1, name);
  else
    copy_columns(host.data(), static_cast<const float*>(x.data()), n, d, s0, s1, name);
  return ctx.on_device() ? host.copy(ctx) : std::move(host);
}

template <class T>
nb::object numpy_from(std::vector<T>&& values, std::vector<std::size_t> shape) {
  auto* owned = new std::vector<T>(std::move(values));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  return nb::cast(nb::ndarray<nb::numpy, T>(owned->data(), shape.size(), shape.data(), owner));
}

template ParticleSet<float> as_cloud(const Context&, const AnyArray&, const char*, bool*);
template ParticleSet<double> as_cloud(const Context&, const AnyArray&, const char*, bool*);
template nb::object numpy_from(std::vector<float>&&, std::vector<std::size_t>);
template nb::object numpy_from(std::vector<double>&&, std::vector<std::size_t>);
template nb::object numpy_from(std::vector<std::size_t>&&, std::vector<std::size_t>);
template nb::object numpy_from(std::vector<std::int64_t>&&, std::vector<std::size_t>);

}  // namespace flowsampler::python
