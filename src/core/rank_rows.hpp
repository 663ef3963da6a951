#pragma once
// A cloud every rank holds whole, and the rows of it this rank works on: the
// metrics that split their N x M passes by rows (Sinkhorn, MMD) run the pass
// over mine() and add the ranks' partial sums with total(). With one process
// (comm null or of size 1) mine() is the cloud itself: no copy, no exchange.
#include <vector>

#include "flowsampler/core/communicator.hpp"
#include "flowsampler/core/particle_set.hpp"

namespace flowsampler::detail {

/// Every rank's rows, in rank order (row order for shards from
/// Communicator::shard), as one set in ctx's memory on every rank (first_row()
/// 0): what gather_rows gives rank 0, for all. Goes through the host.
template <class Real>
ParticleSet<Real> all_gather_rows(const Context& ctx, const Communicator& comm, const ParticleSet<Real>& part) {
  const std::vector<Real> rows = comm.all_gather(part.to_row_major());
  return ParticleSet<Real>::from_row_major(ctx, rows.data(), rows.size() / part.d(), part.d());
}

template <class Real>
struct RankRows {
  const ParticleSet<Real>* whole = nullptr;
  const Communicator* comm = nullptr;  // null: one process
  Shard shard;
  ParticleSet<Real> part;  // the shard's rows, with several ranks

  RankRows(const Context& ctx, const ParticleSet<Real>& x, const Communicator* c) : whole(&x), shard{0, x.n()} {
    if (c && c->size() > 1) {
      comm = c;
      shard = c->shard(x.n());
      part = shard_rows(ctx, x, shard);
    }
  }
  const ParticleSet<Real>& mine() const { return comm ? part : *whole; }
  // The sum over every rank's rows of a partial sum of this rank's rows.
  double total(double partial) const { return comm ? comm->sum({partial})[0] : partial; }
};

}  // namespace flowsampler::detail
