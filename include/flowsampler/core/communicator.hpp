#pragma once
/// \file Communicator: the processes one computation is split over (DESIGN.md section 9).
///
/// A default-constructed Communicator is one process. Communicator::world()
/// is every process that `mpirun` started, when the library was built with
/// MPI (FLOWSAMPLER_MPI) and the program runs under a launcher; otherwise it
/// is one process too, so code written for P ranks runs unchanged on one.
/// Ranks own contiguous row shards of a cloud (shard()), and every
/// collective combines the ranks' parts in rank order on every rank: all
/// ranks get the same bits, run after run, whatever the network does.
#include <cstddef>
#include <cstring>
#include <type_traits>
#include <vector>

namespace flowsampler {

/// Rows [first, first + count) of a cloud: the part one rank owns.
struct Shard {
  std::size_t first = 0, count = 0;
};

/// The shard of `rank` among `size` ranks for a cloud of n rows: contiguous,
/// in rank order, the first n % size ranks one row more (a rank owns no row
/// when n < size).
Shard shard_of(std::size_t n, int rank, int size);

class Communicator {
 public:
  /// One process: rank 0 of 1, every collective returns its input.
  Communicator() = default;
  /// The processes of this job (MPI_COMM_WORLD, MPI initialized on the first
  /// call and finalized at exit) when built with MPI and started by a
  /// launcher (mpirun, srun); one process otherwise.
  static Communicator world();
  /// True when the library was built with MPI.
  static bool built_with_mpi();

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }
  /// This rank's shard of an n-row cloud.
  Shard shard(std::size_t n) const { return shard_of(n, rank_, size_); }

  /// Element-wise sum over the ranks, added in rank order on every rank (the
  /// vectors must have the same length on every rank).
  std::vector<double> sum(const std::vector<double>& mine) const;
  /// Element-wise maximum over the ranks (exact, so order-free).
  std::vector<double> max(const std::vector<double>& mine) const;
  /// The ranks' vectors concatenated in rank order, on every rank.
  template <class T>
  std::vector<T> all_gather(const std::vector<T>& mine) const {
    return from_bytes<T>(exchange(mine.data(), mine.size() * sizeof(T), true));
  }
  /// The ranks' vectors concatenated in rank order, on rank 0; other ranks get
  /// an empty vector.
  template <class T>
  std::vector<T> gather(const std::vector<T>& mine) const {
    return from_bytes<T>(exchange(mine.data(), mine.size() * sizeof(T), false));
  }
  /// Waits for every rank.
  void barrier() const;
  /// Ends every rank of the job with exit status `code`: a rank that fails
  /// must not leave the others waiting in a collective. With one process,
  /// std::exit(code).
  [[noreturn]] void abort(int code) const;

 private:
  std::vector<unsigned char> exchange(const void* data, std::size_t bytes, bool everyone) const;
  template <class T>
  static std::vector<T> from_bytes(const std::vector<unsigned char>& b) {
    static_assert(std::is_trivially_copyable_v<T>, "Communicator: only trivially copyable elements travel");
    std::vector<T> out(b.size() / sizeof(T));
    if (!b.empty()) std::memcpy(out.data(), b.data(), b.size());
    return out;
  }
  int rank_ = 0, size_ = 1;
  bool mpi_ = false;
};

}  // namespace flowsampler
