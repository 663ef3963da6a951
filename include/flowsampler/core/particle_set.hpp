#pragma once
/// \file ParticleSet: N particles in d dimensions, column-major.
#include <cstddef>
#include <vector>

#include "flowsampler/core/buffer.hpp"
#include "flowsampler/core/communicator.hpp"
#include "flowsampler/core/context.hpp"

namespace flowsampler {

/// An N x d matrix of particles stored column-major: coordinate k of particle i
/// is at data()[k * n() + i]. Lives in device memory on a CUDA (or emulator)
/// context and in host memory on a CPU context; host code reads device sets
/// only through to_host() / to_row_major() (downloads). Instantiated for float
/// and double.
template <class Real>
class ParticleSet {
 public:
  ParticleSet() = default;
  /// Uninitialized N x d set in the memory of `ctx`'s backend. N = 0 is allowed
  /// (an empty cloud); d must be >= 1.
  ParticleSet(const Context& ctx, std::size_t n, std::size_t d);
  /// Uninitialized N x d set in host memory (`where` must be Memory::host:
  /// device memory comes from a context).
  ParticleSet(std::size_t n, std::size_t d, Memory where);

  /// From a row-major (numpy C order) host array of n*d values.
  static ParticleSet from_row_major(const Context& ctx, const Real* rows, std::size_t n,
                                    std::size_t d);
  /// From a column-major host array of n*d values.
  static ParticleSet from_column_major(const Context& ctx, const Real* cols, std::size_t n,
                                       std::size_t d);
  /// A view of a column-major host array of n*d values owned by the caller
  /// (no copy: a Fortran-ordered (N, d) numpy array is this layout). The
  /// caller keeps `cols` alive while the set exists; the set is an input only
  /// (the library never writes to a const set). Host memory: it belongs to a
  /// CPU context; a device context needs copy(ctx) first.
  static ParticleSet view(const Real* cols, std::size_t n, std::size_t d);

  std::size_t n() const { return n_; }
  std::size_t d() const { return d_; }
  std::size_t size() const { return n_ * d_; }
  Memory memory() const { return buf_.memory(); }
  /// True when the set lives where `ctx` computes.
  bool belongs_to(const Context& ctx) const { return buf_.belongs_to(ctx); }
  Real* data() { return buf_.data(); }
  const Real* data() const { return buf_.data(); }
  /// Start of coordinate column k (n() contiguous values).
  Real* column(std::size_t k) { return data() + k * n_; }
  const Real* column(std::size_t k) const { return data() + k * n_; }

  /// Host copy of the whole set, column-major.
  std::vector<Real> to_host() const;
  /// Host copy in row-major (numpy C) order.
  std::vector<Real> to_row_major() const;
  /// Host copy of the first `count` particles (count <= n()), row-major: one
  /// download per coordinate of just those rows (trajectory snapshots).
  std::vector<Real> head_to_row_major(std::size_t count) const;
  /// Deep copy into the memory of `ctx`'s backend (on the device when both are there).
  ParticleSet copy(const Context& ctx) const;

  /// The global index of row 0 when this set is one rank's shard of a larger
  /// cloud (Communicator::shard), 0 otherwise. Random fills key row i by
  /// first_row() + i, so P shards draw the numbers of the whole cloud; copy()
  /// keeps it.
  std::size_t first_row() const { return first_row_; }
  void set_first_row(std::size_t first) { first_row_ = first; }

  /// Element access; host memory only (throws Error on device memory).
  Real& at(std::size_t i, std::size_t k);
  const Real& at(std::size_t i, std::size_t k) const;

 private:
  std::size_t n_ = 0, d_ = 0, first_row_ = 0;
  Buffer<Real> buf_;
};

extern template class ParticleSet<float>;
extern template class ParticleSet<double>;

/// The k x d subsample of rows floor(i n / k), i < k, of x (1 <= k <= n),
/// gathered where x lives (on the device for a device context).
template <class Real>
ParticleSet<Real> strided_rows(const Context& ctx, const ParticleSet<Real>& x, std::size_t k);

/// Rows [s.first, s.first + s.count) of x, e.g. a rank's shard of a cloud
/// every rank holds whole, in ctx's memory, with first_row() = x.first_row()
/// + s.first. Goes through the host (one download, one upload): for set-up,
/// not for every step.
template <class Real>
ParticleSet<Real> shard_rows(const Context& ctx, const ParticleSet<Real>& x, Shard s);

/// The inverse: every rank's shard, concatenated in rank order (row order for
/// shards from Communicator::shard), as one set in ctx's memory on rank 0; an
/// empty set on the other ranks. Goes through the host.
template <class Real>
ParticleSet<Real> gather_rows(const Context& ctx, const Communicator& comm, const ParticleSet<Real>& part);

}  // namespace flowsampler
