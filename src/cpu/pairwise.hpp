#pragma once
// The CPU backend of the pairwise engine: OpenMP over blocks of x rows, the y
// rows streamed in cache-sized tiles, and the loop over the rows of a block
// vectorized with `#pragma omp simd` (x is column-major, so lane i reads
// x[k*n + i]: contiguous across lanes). With a compile-time D the x
// coordinates and the tile accumulators of a lane sit in registers; D = 0 is
// the runtime-d path, which keeps them in per-thread scratch.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "pairwise/access.hpp"
#include "pairwise/tiles.hpp"

// glibc declares its vector log (libmvec) only under -ffast-math; declaring it
// here lets the softmax finish loop call _ZGV*_log instead of a scalar log.
extern "C" {
#pragma omp declare simd notinbranch
double log(double) noexcept;
}

namespace flowsampler::cpu {

/// Inputs of one pairwise call. x: n x d column-major. y_rows: m x d row-major
/// (the launcher's caller transposes once), py_rows: m x q row-major payload.
template <class Real>
struct PairwiseArgs {
  const Real* x;
  std::size_t n;
  const Real* y_rows;
  const Real* py_rows;
  std::size_t m;
  int d;
  int threads;
  bool skip_diagonal = false;  ///< softmax: x and y are the same set; leave out the pairs j = i
};

namespace detail {
constexpr std::size_t block_rows = 64;  // x rows per block (a few SIMD vectors)
constexpr std::size_t tile_rows = 512;  // y rows per tile (stays in L1 for small d)

// Dimensions whose lane state fits in registers; wider ones (and runtime d)
// sweep the lanes once per y row with the lane state in L1.
constexpr bool in_registers(int D) { return D > 0 && D <= 8; }

// Threads only pay off above some work: a few hundred points by a few hundred
// (the 100-atom batches of the Monge experiments, Sinkhorn on small clouds)
// take microseconds, less than a team's fork and barrier, and far less than a
// team's spinning on a loaded machine.
constexpr double min_parallel_pairs = 1 << 17;
inline bool worth_threads(std::size_t nblocks, std::size_t n, std::size_t m) {
  return nblocks > 1 && double(n) * double(m) >= min_parallel_pairs;
}

template <int D, class Real>
struct LaneX {
  // The x accessor a lane uses: its coordinates in registers, or a strided view.
  static auto make(const Real* x, std::size_t n, std::size_t i, int d) {
    if constexpr (D > 0) {
      kernels::Lane<Real, D> xr;
      FLOWSAMPLER_UNROLL for (int k = 0; k < D; ++k) xr(k) = x[k * n + i];
      (void)d;
      return xr;
    } else {
      (void)d;
      return kernels::Strided<const Real>{x + i, n};
    }
  }
};

}  // namespace detail

/// out (n x p column-major) = sum_j value(x_i, y_j).
template <int D, class Op, class Real>
void pairwise_sum(const Op& op, const PairwiseArgs<Real>& args, Real* out) {
  // Local copies: GCC cannot prove that stores through the lane arrays leave
  // the argument struct alone, and would reload its fields in the lane loops.
  const PairwiseArgs<Real> a = args;
  const int p = Op::value_dim(kernels::dim<D>(a.d));
  const std::size_t nblocks = (a.n + detail::block_rows - 1) / detail::block_rows;
  const long long nb = static_cast<long long>(nblocks);
  constexpr int P = D > 0 ? Op::value_dim(D) : 1;
#pragma omp parallel num_threads(a.threads) if (detail::worth_threads(nblocks, a.n, a.m))
  {
    constexpr std::size_t B = detail::block_rows;
    std::vector<double> carry(static_cast<std::size_t>(p) * B);
    std::vector<Real> scratch(detail::in_registers(D) ? 0 : static_cast<std::size_t>(p) * B, Real(0));
#pragma omp for schedule(dynamic, 1)
    for (long long b = 0; b < nb; ++b) {
      const std::size_t i0 = static_cast<std::size_t>(b) * B;
      const std::size_t len = std::min(B, a.n - i0);
      std::fill(carry.begin(), carry.end(), 0.0);
      double* cp = carry.data();
      Real* sp = scratch.data();
      for (std::size_t j0 = 0; j0 < a.m; j0 += detail::tile_rows) {
        const int tl = static_cast<int>(std::min(detail::tile_rows, a.m - j0));
        const Real* yt = a.y_rows + j0 * static_cast<std::size_t>(kernels::dim<D>(a.d));
        const Real* pt = a.py_rows + j0 * static_cast<std::size_t>(Op::payload_dim(kernels::dim<D>(a.d)));
        if constexpr (detail::in_registers(D)) {
          // Rows inside the lane loop: x and the tile sums stay in registers.
#pragma omp simd
          for (std::size_t l = 0; l < len; ++l) {
            const auto x = detail::LaneX<D, Real>::make(a.x, a.n, i0 + l, a.d);
            kernels::Strided<double> c{cp + l, B};
            kernels::Lane<Real, P> t;
            FLOWSAMPLER_UNROLL for (int k = 0; k < P; ++k) t(k) = Real(0);
            kernels::sum_tile<D>(op, x, yt, pt, tl, a.d, t);
            FLOWSAMPLER_UNROLL for (int k = 0; k < P; ++k) c(k) += static_cast<double>(t(k));
          }
        } else {
          // Wide or runtime d: one lane sweep per row, lane state in L1.
          for (int j = 0; j < tl; ++j) {
            const Real* y = yt + static_cast<std::size_t>(j) * kernels::dim<D>(a.d);
            const Real* py = pt + static_cast<std::size_t>(j) * Op::payload_dim(kernels::dim<D>(a.d));
#pragma omp simd
            for (std::size_t l = 0; l < len; ++l) {
              const kernels::Strided<const Real> x{a.x + i0 + l, a.n};
              kernels::Strided<Real> t{sp + l, B};
              op.template add<D>(x, y, py, a.d, t);
            }
          }
#pragma omp simd
          for (std::size_t l = 0; l < len; ++l) {
            kernels::Strided<double> c{cp + l, B};
            kernels::Strided<Real> t{sp + l, B};
            for (int k = 0; k < p; ++k) c(k) += static_cast<double>(t(k)), t(k) = Real(0);
          }
        }
      }
      for (int k = 0; k < p; ++k)
        for (std::size_t l = 0; l < len; ++l) out[k * a.n + i0 + l] = static_cast<Real>(carry[k * B + l]);
    }
  }
}

/// out (n x p column-major) = softmax-weighted mean of the values, lse (n) = log sum_j exp(logit_ij).
///
/// Per tile and per tile row, lane-vectorized sweeps (lanes innermost) first
/// find each lane's max logit (keeping the logits, tile_rows x block_rows in
/// L2), then add exp(logit - max) and the weighted value; the per-lane sums
/// live in L1. (The register-resident form of the sum
/// reduction, rows inside the lane loop, is not used here: GCC 12 does not
/// vectorize a lane loop around this update.)
template <int D, class Op, class Real>
void pairwise_softmax(const Op& op, const PairwiseArgs<Real>& args, Real* out, Real* lse) {
  // Local copies: GCC cannot prove that stores through the lane arrays leave
  // the argument struct alone, and would reload its fields in the lane loops.
  const PairwiseArgs<Real> a = args;
  constexpr int PD = D > 0 ? Op::value_dim(D) : 0;  // a constant the unroller sees early
  const int p = D > 0 ? PD : Op::value_dim(a.d);
  const std::size_t nblocks = (a.n + detail::block_rows - 1) / detail::block_rows;
  const long long nb = static_cast<long long>(nblocks);
  const int ds = kernels::dim<D>(a.d);
#pragma omp parallel num_threads(a.threads) if (detail::worth_threads(nblocks, a.n, a.m))
  {
    constexpr std::size_t B = detail::block_rows;
    std::vector<double> carry(static_cast<std::size_t>(p) * B), s(B);
    std::vector<Real> m(B), mt(B), mnew(B), shift(B), ts(B), tacc(static_cast<std::size_t>(p) * B);
    std::vector<Real> logits(detail::tile_rows * B);
#pragma omp for schedule(dynamic, 1)
    for (long long b = 0; b < nb; ++b) {
      const std::size_t i0 = static_cast<std::size_t>(b) * B;
      const std::size_t len = std::min(B, a.n - i0);
      std::fill(carry.begin(), carry.end(), 0.0);
      std::fill(s.begin(), s.end(), 0.0);
      std::fill(m.begin(), m.end(), -std::numeric_limits<Real>::infinity());
      std::fill(ts.begin(), ts.end(), Real(0));
      std::fill(tacc.begin(), tacc.end(), Real(0));
      double* cp = carry.data();
      double* sp = s.data();
      Real *mp = m.data(), *mtp = mt.data(), *mn = mnew.data(), *sh = shift.data(), *tsp = ts.data(), *tp = tacc.data();
      Real* lg = logits.data();
      for (std::size_t j0 = 0; j0 < a.m; j0 += detail::tile_rows) {
        const int tl = static_cast<int>(std::min(detail::tile_rows, a.m - j0));
        const Real* yt = a.y_rows + j0 * static_cast<std::size_t>(ds);
        const Real* pt = a.py_rows + j0 * static_cast<std::size_t>(Op::payload_dim(kernels::dim<D>(a.d)));
        std::fill(mt.begin(), mt.end(), -std::numeric_limits<Real>::infinity());
        for (int j = 0; j < tl; ++j) {
          const Real* y = yt + static_cast<std::size_t>(j) * ds;
          const Real* py = pt + static_cast<std::size_t>(j) * Op::payload_dim(kernels::dim<D>(a.d));
          Real* lgj = lg + static_cast<std::size_t>(j) * B;
#pragma omp simd
          for (std::size_t l = 0; l < len; ++l) {
            const kernels::Strided<const Real> x{a.x + i0 + l, a.n};
            const Real v = op.template logit<D>(x, y, py, a.d);
            lgj[l] = v;
            mtp[l] = v > mtp[l] ? v : mtp[l];
          }
        }
        if (a.skip_diagonal && j0 < i0 + len && i0 < j0 + static_cast<std::size_t>(tl)) {
          // The block's own points lie in this tile: drop their self pairs
          // (logit -inf, so exp gives 0) and take the lanes' max again.
          const std::size_t lo = std::max(i0, j0), hi = std::min(i0 + len, j0 + static_cast<std::size_t>(tl));
          for (std::size_t g = lo; g < hi; ++g) {
            const std::size_t l = g - i0;
            lg[(g - j0) * B + l] = -std::numeric_limits<Real>::infinity();
            Real mx = -std::numeric_limits<Real>::infinity();
            for (int j = 0; j < tl; ++j) mx = std::max(mx, lg[static_cast<std::size_t>(j) * B + l]);
            mtp[l] = mx;
          }
        }
#pragma omp simd
        for (std::size_t l = 0; l < len; ++l) sh[l] = kernels::softmax_shift(mtp[l], mp[l], mn[l]);
        for (int j = 0; j < tl; ++j) {
          const Real* y = yt + static_cast<std::size_t>(j) * ds;
          const Real* py = pt + static_cast<std::size_t>(j) * Op::payload_dim(kernels::dim<D>(a.d));
          const Real* lgj = lg + static_cast<std::size_t>(j) * B;
#pragma omp simd
          for (std::size_t l = 0; l < len; ++l) {
            const kernels::Strided<const Real> x{a.x + i0 + l, a.n};
            kernels::Strided<Real> t{tp + l, B};
            kernels::softmax_pair_given<D>(op, x, y, py, a.d, lgj[l], sh[l], tsp[l], t);
          }
        }
#pragma omp simd
        for (std::size_t l = 0; l < len; ++l) {
          kernels::Strided<double> c{cp + l, B};
          kernels::Strided<Real> t{tp + l, B};
          kernels::softmax_carry(p, sh[l], mn[l], tsp[l], t, mp[l], sp[l], c);
          tsp[l] = 0;  // ready for the next tile
          FLOWSAMPLER_UNROLL for (int k = 0; k < p; ++k) t(k) = Real(0);
        }
      }
      // Two loops, so that the one without the log-normalizer has no log in it.
      if (lse) {
#pragma omp simd
        for (std::size_t l = 0; l < len; ++l) {
          const kernels::Strided<const Real> x{a.x + i0 + l, a.n};
          kernels::Strided<const double> c{cp + l, B};
          kernels::Strided<Real> o{out + i0 + l, a.n};
          kernels::softmax_output<D>(op, x, a.d, mp[l], sp[l], c, p, o, lse + i0 + l);
        }
      } else {
#pragma omp simd
        for (std::size_t l = 0; l < len; ++l) {
          const kernels::Strided<const Real> x{a.x + i0 + l, a.n};
          kernels::Strided<const double> c{cp + l, B};
          kernels::Strided<Real> o{out + i0 + l, a.n};
          kernels::softmax_output<D>(op, x, a.d, mp[l], sp[l], c, p, o, static_cast<Real*>(nullptr));
        }
      }
    }
  }
}

/// dist/idx (n x k column-major): the k smallest distances of each x_i, ascending.
/// Slots beyond m (k > m) hold +inf and index UINT32_MAX.
template <int D, class Op, class Real>
void pairwise_kmin(const Op& op, const PairwiseArgs<Real>& args, int k, Real* dist, std::uint32_t* idx) {
  // Local copies: GCC cannot prove that stores through the lane arrays leave
  // the argument struct alone, and would reload its fields in the lane loops.
  const PairwiseArgs<Real> a = args;
  const std::size_t nblocks = (a.n + detail::block_rows - 1) / detail::block_rows;
  const long long nb = static_cast<long long>(nblocks);
#pragma omp parallel num_threads(a.threads) if (detail::worth_threads(nblocks, a.n, a.m))
  {
    constexpr std::size_t B = detail::block_rows;
    std::vector<Real> best(static_cast<std::size_t>(k) * B);
    std::vector<std::uint32_t> bidx(static_cast<std::size_t>(k) * B);
#pragma omp for schedule(dynamic, 1)
    for (long long b = 0; b < nb; ++b) {
      const std::size_t i0 = static_cast<std::size_t>(b) * B;
      const std::size_t len = std::min(B, a.n - i0);
      std::fill(best.begin(), best.end(), std::numeric_limits<Real>::infinity());
      std::fill(bidx.begin(), bidx.end(), std::numeric_limits<std::uint32_t>::max());
      Real* bp = best.data();
      std::uint32_t* ip = bidx.data();
      for (std::size_t j0 = 0; j0 < a.m; j0 += detail::tile_rows) {
        const int tl = static_cast<int>(std::min(detail::tile_rows, a.m - j0));
        const Real* yt = a.y_rows + j0 * static_cast<std::size_t>(kernels::dim<D>(a.d));
        const Real* pt = a.py_rows + j0 * static_cast<std::size_t>(Op::payload_dim(kernels::dim<D>(a.d)));
        for (int j = 0; j < tl; ++j) {
          const Real* y = yt + static_cast<std::size_t>(j) * kernels::dim<D>(a.d);
          const Real* py = pt + static_cast<std::size_t>(j) * Op::payload_dim(kernels::dim<D>(a.d));
          const unsigned id = static_cast<unsigned>(j0) + static_cast<unsigned>(j);
#pragma omp simd
          for (std::size_t l = 0; l < len; ++l) {
            const kernels::Strided<const Real> x{a.x + i0 + l, a.n};
            kernels::Strided<Real> bv{bp + l, B};
            kernels::Strided<std::uint32_t> iv{ip + l, B};
            kernels::kmin_insert(op.template distance<D>(x, y, py, a.d), id, k, bv, iv);
          }
        }
      }
      for (int t = 0; t < k; ++t)
        for (std::size_t l = 0; l < len; ++l) {
          dist[t * a.n + i0 + l] = best[t * B + l];
          idx[t * a.n + i0 + l] = bidx[t * B + l];
        }
    }
  }
}

}  // namespace flowsampler::cpu

