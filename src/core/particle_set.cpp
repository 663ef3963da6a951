#include "flowsampler/core/particle_set.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#include "cloud/gather.hpp"
#include "core/launch.hpp"
#include "flowsampler/core/error.hpp"

namespace flowsampler {

namespace {
std::size_t checked_size(std::size_t n, std::size_t d, std::size_t elem) {
  FLOWSAMPLER_EXPECTS(d >= 1, "particle set: dimension d must be >= 1, got " << d);
  FLOWSAMPLER_EXPECTS(n <= std::numeric_limits<std::size_t>::max() / d / elem,
                      "particle set: " << n << " x " << d << " elements overflow the address space");
  return n * d;
}
}  // namespace

template <class Real>
ParticleSet<Real>::ParticleSet(std::size_t n, std::size_t d, Memory where)
    : n_(n), d_(d), buf_(checked_size(n, d, sizeof(Real)), where) {}

template <class Real>
ParticleSet<Real>::ParticleSet(const Context& ctx, std::size_t n, std::size_t d)
    : n_(n), d_(d), buf_(ctx, checked_size(n, d, sizeof(Real))) {}

template <class Real>
ParticleSet<Real> ParticleSet<Real>::from_column_major(const Context& ctx, const Real* cols, std::size_t n,
                                                       std::size_t d) {
  ParticleSet out(ctx, n, d);
  out.buf_.copy_from_host(cols);
  return out;
}

template <class Real>
ParticleSet<Real> ParticleSet<Real>::view(const Real* cols, std::size_t n, std::size_t d) {
  ParticleSet out;
  out.n_ = n;
  out.d_ = d;
  // The set is an input only: const access never writes through the pointer.
  out.buf_ = Buffer<Real>::borrow(const_cast<Real*>(cols), checked_size(n, d, sizeof(Real)));
  return out;
}

template <class Real>
ParticleSet<Real> ParticleSet<Real>::from_row_major(const Context& ctx, const Real* rows, std::size_t n, std::size_t d) {
  ParticleSet host(n, d, Memory::host);
  for (std::size_t k = 0; k < d; ++k)
    for (std::size_t i = 0; i < n; ++i) host.buf_.data()[k * n + i] = rows[i * d + k];
  if (ctx.on_device()) return host.copy(ctx);
  return host;
}

template <class Real>
std::vector<Real> ParticleSet<Real>::to_host() const {
  std::vector<Real> out(size());
  buf_.copy_to_host(out.data());
  return out;
}

template <class Real>
std::vector<Real> ParticleSet<Real>::to_row_major() const {
  const std::vector<Real> cols = to_host();
  std::vector<Real> rows(size());
  for (std::size_t i = 0; i < n_; ++i)
    for (std::size_t k = 0; k < d_; ++k) rows[i * d_ + k] = cols[k * n_ + i];
  return rows;
}

template <class Real>
std::vector<Real> ParticleSet<Real>::head_to_row_major(std::size_t count) const {
  FLOWSAMPLER_EXPECTS(count <= n_, "head_to_row_major: " << count << " rows of a set of " << n_);
  std::vector<Real> col(count), rows(count * d_);
  for (std::size_t k = 0; k < d_; ++k) {
    buf_.store().copy_to_host(col.data(), count * sizeof(Real), k * n_ * sizeof(Real));
    for (std::size_t i = 0; i < count; ++i) rows[i * d_ + k] = col[i];
  }
  return rows;
}

template <class Real>
ParticleSet<Real> strided_rows(const Context& ctx, const ParticleSet<Real>& x, std::size_t k) {
  FLOWSAMPLER_EXPECTS(k >= 1 && k <= x.n(), "strided_rows: need 1 <= k <= N = " << x.n() << ", got " << k);
  FLOWSAMPLER_EXPECTS(x.belongs_to(ctx), "strided_rows: x must live in the context's memory");
  ParticleSet<Real> out(ctx, k, x.d());
  detail::for_each(ctx, out.size(), kernels::StridedRows<Real>{out.data(), x.data(), x.n(), k});
  return out;
}

template <class Real>
ParticleSet<Real> shard_rows(const Context& ctx, const ParticleSet<Real>& x, Shard s) {
  FLOWSAMPLER_EXPECTS(s.first <= x.n() && s.count <= x.n() - s.first,
                      "shard_rows: rows [" << s.first << ", " << s.first + s.count << ") outside a set of " << x.n());
  const std::vector<Real> all = x.to_host();
  std::vector<Real> part(s.count * x.d());
  for (std::size_t k = 0; k < x.d(); ++k)
    std::copy_n(all.begin() + static_cast<std::ptrdiff_t>(k * x.n() + s.first), s.count,
                part.begin() + static_cast<std::ptrdiff_t>(k * s.count));
  ParticleSet<Real> out = ParticleSet<Real>::from_column_major(ctx, part.data(), s.count, x.d());
  out.set_first_row(x.first_row() + s.first);
  return out;
}

template <class Real>
ParticleSet<Real> ParticleSet<Real>::copy(const Context& ctx) const {
  ParticleSet out(ctx, n_, d_);
  out.buf_.copy_from(buf_);
  out.first_row_ = first_row_;
  return out;
}

template <class Real>
Real& ParticleSet<Real>::at(std::size_t i, std::size_t k) {
  FLOWSAMPLER_EXPECTS(memory() == Memory::host, "ParticleSet::at: the set lives in device memory; copy it with to_host()");
  FLOWSAMPLER_EXPECTS(i < n_ && k < d_, "ParticleSet::at: index (" << i << ", " << k << ") outside " << n_ << " x " << d_);
  return buf_.data()[k * n_ + i];
}

template <class Real>
const Real& ParticleSet<Real>::at(std::size_t i, std::size_t k) const {
  return const_cast<ParticleSet*>(this)->at(i, k);
}

template <class Real>
ParticleSet<Real> gather_rows(const Context& ctx, const Communicator& comm, const ParticleSet<Real>& part) {
  const std::vector<Real> rows = comm.gather(part.to_row_major());
  if (!comm.is_root()) return ParticleSet<Real>();
  return ParticleSet<Real>::from_row_major(ctx, rows.data(), rows.size() / part.d(), part.d());
}

template ParticleSet<float> gather_rows(const Context&, const Communicator&, const ParticleSet<float>&);
template ParticleSet<double> gather_rows(const Context&, const Communicator&, const ParticleSet<double>&);
template ParticleSet<float> shard_rows(const Context&, const ParticleSet<float>&, Shard);
template ParticleSet<double> shard_rows(const Context&, const ParticleSet<double>&, Shard);
template class ParticleSet<float>;
template class ParticleSet<double>;
template ParticleSet<float> strided_rows(const Context&, const ParticleSet<float>&, std::size_t);
template ParticleSet<double> strided_rows(const Context&, const ParticleSet<double>&, std::size_t);

}  // namespace flowsampler
