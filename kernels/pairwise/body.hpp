#pragma once
// The CUDA kernel body of the pairwise engine, written against the thread
// context (kernels/simt/thread_context.hpp): one thread per x_i, the y rows
// (and their payload) loaded tile by tile into shared memory, row-major, by
// the whole block, and each thread folding the tile into its own state with
// the same tile functions the CPU backend uses. Under tests/simt it runs on
// fibers and is compared with the CPU backend.
#include <cstddef>
#include <cstdint>
#include <limits>

#include "pairwise/access.hpp"
#include "pairwise/reductions.hpp"
#include "pairwise/tiles.hpp"

namespace flowsampler::kernels {

enum class Reduction { sum, softmax, kmin };

/// Device pointers of one call; x, y, py column-major (n x d, m x d, m x q);
/// outputs column-major. carry/tacc: n x p scratch, used by the runtime-d path.
template <class Real>
struct PairwiseDeviceArgs {
  const Real* x;
  std::size_t n;
  const Real* y;
  const Real* py;
  std::size_t m;
  int d;
  Real* out;            // sum, softmax: n x p
  Real* lse;            // softmax: n
  std::uint32_t* idx;   // kmin: n x k (distances go to out, n x k)
  int k;                // kmin
  double* carry;        // runtime d: n x p (sum, softmax) or unused
  Real* tacc;           // runtime d: n x p tile accumulators; kmin: unused
  bool skip_diagonal = false;  // softmax: x and y are the same set; leave out j = i
};

template <int D, class Op, Reduction R>
struct PairwiseBody {
  template <class Real>
  static constexpr std::size_t shared_bytes(unsigned block, int d) {
    return static_cast<std::size_t>(block) * static_cast<std::size_t>(dim<D>(d) + Op::payload_dim(dim<D>(d))) * sizeof(Real);
  }

#if defined(__CUDACC__)
#pragma nv_exec_check_disable
#endif
  template <class Ctx, class Real>
  FLOWSAMPLER_HD static void run(Ctx& ctx, const Op op, const PairwiseDeviceArgs<Real> a) {
    const unsigned B = ctx.block_dim();
    const std::size_t i = static_cast<std::size_t>(ctx.block()) * B + ctx.thread();
    const bool active = i < a.n;
    const std::size_t ii = active ? i : 0;  // inactive threads still help load tiles
    const int ds = dim<D>(a.d);
    const int q = Op::payload_dim(ds);
    Real* yt = ctx.template shared<Real>();
    Real* pt = yt + static_cast<std::size_t>(B) * ds;

    auto x = load_x<Real>(a, ii);
    constexpr int P = R == Reduction::kmin ? 1 : (D > 0 ? Op::value_dim(D) : 1);
    const int p = R == Reduction::kmin ? a.k : Op::value_dim(ds);
    // Lane state: registers with a compile-time D, else the n x p scratch.
    Lane<double, P> carry_r{};
    Lane<Real, P> tacc_r{};
    Strided<double> carry_s{a.carry + ii, a.n};
    Strided<Real> tacc_s{a.tacc + ii, a.n};
    Strided<Real> best{a.out + ii, a.n};
    Strided<std::uint32_t> bidx{a.idx + ii, a.n};
    Real m = -std::numeric_limits<Real>::infinity();  // softmax: the empty state (pairwise/reductions.hpp)
    double s = 0;
    if (active) {
      if constexpr (R == Reduction::kmin)
        kmin_init<Real>(p, best, bidx);
      else if constexpr (D > 0)
        sum_init(P, carry_r);
      else
        sum_init(p, carry_s);
    }

    for (std::size_t j0 = 0; j0 < a.m; j0 += B) {
      const int tl = static_cast<int>(a.m - j0 < B ? a.m - j0 : B);
      for (unsigned t = ctx.thread(); t < static_cast<unsigned>(tl * ds); t += B) {
        const unsigned jj = t % tl, k = t / tl;  // consecutive threads read consecutive y rows
        yt[jj * ds + k] = a.y[k * a.m + j0 + jj];
      }
      for (unsigned t = ctx.thread(); t < static_cast<unsigned>(tl * q); t += B) {
        const unsigned jj = t % tl, k = t / tl;
        pt[jj * q + k] = a.py[k * a.m + j0 + jj];
      }
      ctx.sync();
      if (active) {
        if constexpr (R == Reduction::sum) {
          if constexpr (D > 0) {
            for (int k = 0; k < P; ++k) tacc_r(k) = 0;
            sum_tile<D>(op, x, yt, pt, tl, a.d, tacc_r);
            for (int k = 0; k < P; ++k) carry_r(k) += static_cast<double>(tacc_r(k));
          } else {
            for (int k = 0; k < p; ++k) tacc_s(k) = 0;
            sum_tile<D>(op, x, yt, pt, tl, a.d, tacc_s);
            for (int k = 0; k < p; ++k) carry_s(k) += static_cast<double>(tacc_s(k));
          }
        } else if constexpr (R == Reduction::softmax) {
          const int skip = a.skip_diagonal && i >= j0 && i < j0 + static_cast<std::size_t>(tl) ? static_cast<int>(i - j0) : -1;
          const Real mt = softmax_tile_max<D>(op, x, yt, pt, tl, a.d, skip);
          if constexpr (D > 0)
            softmax_tile_update<D>(op, x, yt, pt, tl, a.d, mt, m, s, carry_r, tacc_r, skip);
          else
            softmax_tile_update<D>(op, x, yt, pt, tl, a.d, mt, m, s, carry_s, tacc_s, skip);
        } else {
          kmin_tile<D>(op, x, yt, pt, static_cast<unsigned>(j0), tl, a.d, p, best, bidx);
        }
      }
      ctx.sync();
    }
    if (!active) return;
    Strided<Real> out{a.out + i, a.n};
    if constexpr (R == Reduction::sum) {
      if constexpr (D > 0)
        sum_finish<Real>(p, carry_r, out);
      else
        sum_finish<Real>(p, carry_s, out);
    } else if constexpr (R == Reduction::softmax) {
      Real* lse = a.lse ? a.lse + i : nullptr;
      if constexpr (D > 0)
        softmax_output<D>(op, x, a.d, m, s, carry_r, p, out, lse);
      else
        softmax_output<D>(op, x, a.d, m, s, carry_s, p, out, lse);
    }
  }

 private:
  template <class Real>
  FLOWSAMPLER_HD static auto load_x(const PairwiseDeviceArgs<Real>& a, std::size_t i) {
    if constexpr (D > 0) {
      Lane<Real, D> xr;
      for (int k = 0; k < D; ++k) xr(k) = a.n ? a.x[k * a.n + i] : Real(0);
      return xr;
    } else {
      return Strided<const Real>{a.x + i, a.n};
    }
  }
};

}  // namespace flowsampler::kernels
