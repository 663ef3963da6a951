#pragma once
// Block-by-block integration of a pointwise field on the host.
//
// When each particle's velocity depends on that particle alone
// (Field::pointwise), the cloud can go through a stretch of steps one block of
// rows at a time: a block and its stage buffers stay in the core's L2 through
// every step, where the whole-cloud integrator streams every stage
// combination through memory (a heun step over 2^20 particles in 2-D moves
// ~88 MB) and forms a thread team per evaluation. Threads take whole blocks,
// each with a one-thread context of its own. A particle sees the same
// arithmetic either way; only which lanes of the vector loops it shares with
// others changes.
#include <cstring>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "flowsampler/core/context.hpp"
#include "core/first_exception.hpp"
#include "flowsampler/core/particle_set.hpp"
#include "flowsampler/fields/field.hpp"
#include "flowsampler/integrate/integrate.hpp"

namespace flowsampler::integrate::detail {

/// Rows per block: 2^16 bytes of coordinates per block, so that the ~8
/// block-sized buffers of a step (the cloud, stage points, up to 4 stages, the
/// field's temporaries) fit half the L2 of one core (1 MiB on this machine's
/// Zen 4, 512 KiB on older ones). 2^15 and 2^18 measured 10-20% slower here.
inline std::size_t block_rows(std::size_t d, std::size_t real_bytes) {
  constexpr std::size_t bytes = std::size_t(1) << 16, min_rows = 1024;
  // A multiple of 64 rows keeps every column of a block 64-byte aligned.
  const std::size_t rows = bytes / (d * real_bytes) / 64 * 64;
  return rows < min_rows ? min_rows : rows;
}

/// Whether integrate() may move this cloud block by block.
template <class Real>
bool blockable(const Context& ctx, const fields::Field<Real>& field, const ParticleSet<Real>& z) {
  return !ctx.on_device() && field.pointwise() && z.n() > block_rows(z.d(), sizeof(Real));
}

// Rows [first, first + rows) of the column-major x copied to or from the block b.
template <class Real>
void copy_rows(const ParticleSet<Real>& x, std::size_t first, ParticleSet<Real>& b) {
  for (std::size_t j = 0; j < x.d(); ++j)
    std::memcpy(b.data() + j * b.n(), x.data() + j * x.n() + first, b.n() * sizeof(Real));
}
template <class Real>
void copy_rows_back(const ParticleSet<Real>& b, std::size_t first, ParticleSet<Real>& x) {
  for (std::size_t j = 0; j < x.d(); ++j)
    std::memcpy(x.data() + j * x.n() + first, b.data() + j * b.n(), b.n() * sizeof(Real));
}

/// Runs `steps(serial_ctx, block, block_ll)` on every block of rows of z (and
/// of *ll when given), in place; returns the Report of one block (all blocks
/// take the same steps). The first exception of any block is rethrown.
template <class Real, class Steps>
Report integrate_row_blocks(const Context& ctx, ParticleSet<Real>& z, ParticleSet<double>* ll, const Steps& steps) {
  const std::size_t n = z.n(), rows = block_rows(z.d(), sizeof(Real));
  const long long blocks = static_cast<long long>((n + rows - 1) / rows);
  Report report;
  flowsampler::detail::FirstException failure;
  const int threads = ctx.threads();
  std::vector<Context> contexts;  // one per thread, made here: nothing may throw out of the team
  for (int t = 0; t < threads; ++t) contexts.push_back(Context::create(Backend::cpu, ctx.seed(), 1));
#pragma omp parallel num_threads(threads)
  {
#if defined(_OPENMP)
    const Context& serial = contexts[static_cast<std::size_t>(omp_get_thread_num())];
#else
    const Context& serial = contexts.front();
#endif
#pragma omp for schedule(dynamic)
    for (long long b = 0; b < blocks; ++b) {
      failure.run([&] {
        const std::size_t first = static_cast<std::size_t>(b) * rows, len = std::min(rows, n - first);
        ParticleSet<Real> zb(serial, len, z.d());
        copy_rows(z, first, zb);
        zb.set_first_row(z.first_row() + first);
        ParticleSet<double> lb(serial, ll ? len : 0, 1);
        if (ll) copy_rows(*ll, first, lb);
        const Report r = steps(serial, zb, ll ? &lb : nullptr);
        copy_rows_back(zb, first, z);
        if (ll) copy_rows_back(lb, first, *ll);
        if (b == 0) report = r;
      });
    }
  }
  failure.rethrow();
  return report;
}

}  // namespace flowsampler::integrate::detail
