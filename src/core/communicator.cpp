// The Communicator over MPI (communicator.hpp). Collectives are built from
// point-to-point messages to and from rank 0, in rank order and in pieces
// below MPI's int counts, so a 10 GB gather works and every rank combines the
// parts in one fixed order.
#include "flowsampler/core/communicator.hpp"

#include <algorithm>
#include <cstdlib>

#include "flowsampler/core/error.hpp"

#ifdef FLOWSAMPLER_HAVE_MPI
#include <mpi.h>
#endif

namespace flowsampler {

Shard shard_of(std::size_t n, int rank, int size) {
  FLOWSAMPLER_EXPECTS(size >= 1 && rank >= 0 && rank < size,
                      "shard_of: expected 0 <= rank < size, got rank " << rank << " of " << size);
  const std::size_t p = static_cast<std::size_t>(size), r = static_cast<std::size_t>(rank);
  const std::size_t base = n / p, extra = n % p;
  return {r * base + std::min(r, extra), base + (r < extra ? 1 : 0)};
}

bool Communicator::built_with_mpi() {
#ifdef FLOWSAMPLER_HAVE_MPI
  return true;
#else
  return false;
#endif
}

#ifdef FLOWSAMPLER_HAVE_MPI
namespace {

// Set by the launchers: Open MPI's mpirun, and PMI/PMIx (MPICH, srun). A
// program started without one stays a single process and never touches MPI.
bool started_by_launcher() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(v)) return true;
  return false;
}

// MPI's lifetime: initialized on first use, finalized at exit unless the
// program had initialized it itself.
struct Session {
  bool ours = false;
  Session() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
      ours = true;
    }
  }
  ~Session() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (ours && !finalized) MPI_Finalize();
  }
};

constexpr std::size_t kPiece = std::size_t(1) << 30;  // bytes per message, below INT_MAX

void send_bytes(const unsigned char* p, std::size_t bytes, int to) {
  for (std::size_t o = 0; o < bytes; o += kPiece)
    MPI_Send(p + o, static_cast<int>(std::min(kPiece, bytes - o)), MPI_BYTE, to, 0, MPI_COMM_WORLD);
}

void receive_bytes(unsigned char* p, std::size_t bytes, int from) {
  for (std::size_t o = 0; o < bytes; o += kPiece)
    MPI_Recv(p + o, static_cast<int>(std::min(kPiece, bytes - o)), MPI_BYTE, from, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
}

void broadcast_bytes(unsigned char* p, std::size_t bytes) {
  for (std::size_t o = 0; o < bytes; o += kPiece)
    MPI_Bcast(p + o, static_cast<int>(std::min(kPiece, bytes - o)), MPI_BYTE, 0, MPI_COMM_WORLD);
}

}  // namespace

Communicator Communicator::world() {
  Communicator c;
  if (!started_by_launcher()) return c;
  static Session session;
  MPI_Comm_rank(MPI_COMM_WORLD, &c.rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &c.size_);
  c.mpi_ = true;
  return c;
}

std::vector<unsigned char> Communicator::exchange(const void* data, std::size_t bytes, bool everyone) const {
  const auto* mine = static_cast<const unsigned char*>(data);
  if (!mpi_ || size_ == 1) return std::vector<unsigned char>(mine, mine + bytes);
  unsigned long long own = bytes;
  std::vector<unsigned long long> sizes(static_cast<std::size_t>(size_));
  MPI_Allgather(&own, 1, MPI_UNSIGNED_LONG_LONG, sizes.data(), 1, MPI_UNSIGNED_LONG_LONG, MPI_COMM_WORLD);
  std::size_t total = 0;
  for (const auto s : sizes) total += s;
  std::vector<unsigned char> out;
  if (rank_ == 0) {
    out.resize(total);
    if (bytes) std::memcpy(out.data(), mine, bytes);
    std::size_t at = bytes;
    for (int r = 1; r < size_; ++r) {
      receive_bytes(out.data() + at, sizes[static_cast<std::size_t>(r)], r);
      at += sizes[static_cast<std::size_t>(r)];
    }
  } else {
    send_bytes(mine, bytes, 0);
  }
  if (everyone) {
    out.resize(total);
    broadcast_bytes(out.data(), total);
  }
  return out;
}

void Communicator::barrier() const {
  if (mpi_) MPI_Barrier(MPI_COMM_WORLD);
}

void Communicator::abort(int code) const {
  if (mpi_ && size_ > 1) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

#else  // built without MPI: one process

Communicator Communicator::world() { return Communicator(); }

std::vector<unsigned char> Communicator::exchange(const void* data, std::size_t bytes, bool) const {
  const auto* mine = static_cast<const unsigned char*>(data);
  return std::vector<unsigned char>(mine, mine + bytes);
}

void Communicator::barrier() const {}

void Communicator::abort(int code) const { std::exit(code); }

#endif

namespace {
// The ranks' equal-length vectors, combined element-wise in rank order.
template <class Combine>
std::vector<double> reduce_in_rank_order(const Communicator& c, const std::vector<double>& mine, Combine combine,
                                         const char* what) {
  const std::vector<double> all = c.all_gather(mine);
  FLOWSAMPLER_EXPECTS(all.size() == mine.size() * static_cast<std::size_t>(c.size()),
                      "Communicator::" << what << ": the ranks passed vectors of different lengths");
  std::vector<double> out(mine.size());
  for (std::size_t k = 0; k < mine.size(); ++k) {
    double v = all[k];
    for (int r = 1; r < c.size(); ++r) v = combine(v, all[static_cast<std::size_t>(r) * mine.size() + k]);
    out[k] = v;
  }
  return out;
}
}  // namespace

std::vector<double> Communicator::sum(const std::vector<double>& mine) const {
  if (size_ == 1) return mine;
  return reduce_in_rank_order(*this, mine, [](double a, double b) { return a + b; }, "sum");
}

std::vector<double> Communicator::max(const std::vector<double>& mine) const {
  if (size_ == 1) return mine;
  // A NaN on any rank is the answer: a failed error norm must not be outvoted.
  return reduce_in_rank_order(*this, mine, [](double a, double b) { return a != a || b != b ? a + b : std::max(a, b); }, "max");
}

}  // namespace flowsampler
