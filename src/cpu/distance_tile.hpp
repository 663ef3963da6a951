#pragma once
// Wide tiles by distance: for ops with a distance form (pairwise/ops.hpp) at
// a d whose lane state does not fit in registers, a block's squared distances
// to a run of y rows come from one small GEMM,
//   r2_ij = |x_i - c|^2 + |y_j - c|^2 - 2 (x_i - c).(y_j - c),
// register-blocked over 8 y rows (one x load feeds 8 FMAs), and the
// displacement ops' values from a second one, sum_j w_ij v_j with
// v_j = offset_j - coef (y_j - c), plus coef (x_i - c) sum_j w_ij in double.
// Pair by pair the lane loop costs a subtract and an FMA per coordinate on
// one dependency chain, a quarter to a tenth of the FMA rate (issue 17: 0.07
// of the exp limit at d = 32).
//
// Accuracy. c is y's mean, so the norms are those of the spread, not of an
// offset. The GEMM form's error is about d u (|x - c|^2 + |y - c|^2) (u the
// unit roundoff), so where an r2 comes out below a quarter of that sum (close
// pairs, the diagonal) or not finite, it is taken again pair by pair, which
// bounds the relative error of every r2 by about 4 d u
// (tests/pairwise: the engine against double loops on clustered and offset
// data, where the fallback runs).
#include <algorithm>
#include <cstddef>
#include <vector>

#include "cpu/pairwise_driver.hpp"
#include "cpu/vector.hpp"
#include "pairwise/ops.hpp"

namespace flowsampler::cpu {

/// Whether reduction policies at compile-time D take an op's tiles by distance.
template <int D, class Op>
constexpr bool by_distance = kernels::has_distance_form<Op>::value && !detail::in_registers(D);

namespace detail {
/// y rows per register block of the distance GEMM, and output columns per
/// register block of the value GEMM: their 2 x gemm_rows (2 x value_cols)
/// accumulators, two x loads and the broadcasts fit in the ISA's vector
/// registers. AVX-512 has 32: 8 and 8. AVX2 has 16, where 8 spilled
/// accumulators to the stack on every k (Zen 3, d = 32, 2 threads: the float
/// sum at 4.8e8 pairs/s, 1.05e9 with 6 rows); value_cols 4 there, as 6 would
/// pad d = 32 to 36 columns.
constexpr int gemm_rows = vector_registers == 32 ? 8 : 6;
constexpr int value_cols = vector_registers == 32 ? 8 : 4;
static_assert(gemm_rows <= static_cast<int>(row_padding), "a GEMM block may read past the last row");
/// y rows per run: its weights (run_rows x 64 lanes, 32 KiB) stay in L1. Float
/// runs of 64 rows ran ~10% slower at d = 32 (the run's fold into the state in
/// double is paid per run); double keeps 32 KiB too (64 rows: 128 gained nothing).
template <class Real>
constexpr std::size_t run_rows = 512 / sizeof(Real);
constexpr double fallback_fraction = 0.25;  // r2 below this fraction of the norms' sum: pair by pair
/// A block's lane stride: whole pairs of vectors (the GEMM's register
/// block), the lanes past the block's rows zero.
template <class Real>
constexpr std::size_t padded_lanes(std::size_t lanes) {
  constexpr std::size_t w = 2 * lanes_per_vector<Real>;
  return (lanes + w - 1) / w * w;
}
}  // namespace detail

/// Per call: y's rows centred on their mean, their squared norms and, for
/// displacement ops, the value rows v_j (value_cols-padded columns), each
/// followed by detail::row_padding zero rows.
template <class Real>
struct DistanceRows {
  int d = 0, vcols = 0;
  std::vector<Real> centre, y, yn, v;
  const Real* raw;  ///< the rows as given (row-major), for the pairs taken one by one

  template <class Op>
  DistanceRows(const Op& op, const Real* y_rows, const Real* py_rows, std::size_t m, int dim)
      : d(dim), centre(dim), raw(y_rows) {
    const std::size_t rows = m + detail::row_padding, ds = static_cast<std::size_t>(d);
    std::vector<double> mean(ds, 0.0);
    for (std::size_t j = 0; j < m; ++j)
      for (std::size_t k = 0; k < ds; ++k) mean[k] += static_cast<double>(y_rows[j * ds + k]);
    for (std::size_t k = 0; k < ds; ++k) centre[k] = static_cast<Real>(mean[k] / static_cast<double>(m));
    y.assign(rows * ds, Real(0));
    yn.assign(rows, Real(0));
    for (std::size_t j = 0; j < m; ++j) {
      Real s = 0;
      for (std::size_t k = 0; k < ds; ++k) {
        const Real t = y_rows[j * ds + k] - centre[k];
        y[j * ds + k] = t, s += t * t;
      }
      yn[j] = s;
    }
    if constexpr (Op::pair_value == kernels::PairValue::displacement) {
      vcols = (d + detail::value_cols - 1) / detail::value_cols * detail::value_cols;
      const std::size_t q = static_cast<std::size_t>(Op::payload_dim(d)), vc = static_cast<std::size_t>(vcols);
      const Real coef = op.displacement_coef();
      v.assign(rows * vc, Real(0));
      for (std::size_t j = 0; j < m; ++j)
        for (std::size_t k = 0; k < ds; ++k) {
          const Real offset = Op::offset_in_payload ? py_rows[j * q + k] : Real(0);
          v[j * vc + k] = offset - coef * y[j * ds + k];
        }
    }
  }
};

/// One block's x rows centred (coordinate k of lane l at xc[k * B + l]) and
/// their squared norms, with the run buffers: r2 and the pairs' weights
/// (row j of the run at j * B), and the block's tile sums. B is the block's
/// rows padded to whole vectors; the padding lanes hold zeros.
template <class Real>
struct DistanceBlock {
  std::size_t B = 0;
  std::vector<Real> xc, xn, r2, w, tsum, tacc;
  const Real* x = nullptr;  ///< the block's first row as given (stride n), for the pairs taken one by one
  std::size_t n = 0;

  DistanceBlock() = default;
  DistanceBlock(std::size_t lanes, const PairwiseArgs<Real>& a, std::size_t m)
      : B(detail::padded_lanes<Real>(lanes)),
        xc(static_cast<std::size_t>(a.d) * B, Real(0)),
        xn(B, Real(0)),
        r2(run_capacity(m) * B),
        w(run_capacity(m) * B),
        tsum(B, Real(0)),
        tacc(static_cast<std::size_t>(a.dist ? a.dist->vcols : 0) * B, Real(0)) {}

  static std::size_t run_capacity(std::size_t m) {
    const std::size_t rows = std::min(m, detail::run_rows<Real>);
    return (rows + detail::gemm_rows - 1) / detail::gemm_rows * detail::gemm_rows;
  }

  void load(const PairwiseArgs<Real>& a, std::size_t i0, std::size_t len) {
    x = a.x + i0, n = a.n;
    const std::size_t ds = static_cast<std::size_t>(a.d);
    const Real* c = a.dist->centre.data();
    std::fill(xn.begin(), xn.end(), Real(0));
    for (std::size_t k = 0; k < ds; ++k) {
      const Real* xk = a.x + k * a.n + i0;
      Real* ck = xc.data() + k * B;
      const Real ck0 = c[k];
#pragma omp simd
      for (std::size_t l = 0; l < len; ++l) {
        const Real t = xk[l] - ck0;
        ck[l] = t, xn[l] += t * t;
      }
      std::fill(ck + len, ck + B, Real(0));
    }
  }
};

namespace detail {

// The kernels below run on explicit vectors of lanes (cpu/vector.hpp); their
// accumulator arrays are indexed by constants once the unroller is done, so
// they live in registers.

/// A register block's r2: two lane vectors by gemm_rows rows.
template <class Real>
using R2Block = Vec<Real>[2][gemm_rows];

/// |x_l - y|^2 of the points as given (centred coordinates, rounded, would
/// lose a near pair's difference), for the r2 the GEMM form cannot be trusted with.
template <int D, class Real>
Real sqdist_exact(const DistanceBlock<Real>& b, std::size_t l, const Real* y, int d) {
  Real s = 0;
  for (int k = 0; k < kernels::dim<D>(d); ++k) {
    const Real t = b.x[static_cast<std::size_t>(k) * b.n + l] - y[k];
    s += t * t;
  }
  return s;
}

/// r2 of every lane vector against `rows` centred y rows (plus the rows up
/// to the next multiple of gemm_rows, read from the padding or the next run)
/// by the GEMM form; the few r2 below a quarter of their norms' sum, or not
/// finite, taken again pair by pair (see the top of this file). A register
/// block is rescanned only when one of its r2 failed the test. Each register
/// block of r2 goes to block(r2, l0, j, valid): lanes l0.., the run's rows
/// j.., of which the first `valid` are real.
template <int D, class Real, class Block>
void sqdist_rows(DistanceBlock<Real>& b, std::size_t len, const Real* y, const Real* yn, const Real* y_raw, int rows,
                 int d, Block&& block) {
  constexpr std::size_t W = lanes_per_vector<Real>;
  const int ds = kernels::dim<D>(d);
  const std::size_t B = b.B, ys = static_cast<std::size_t>(ds);
  const Real frac = static_cast<Real>(fallback_fraction);
  for (int j = 0; j < rows; j += gemm_rows) {
    const Real* yj = y + static_cast<std::size_t>(j) * ys;
    Real* rj = b.r2.data() + static_cast<std::size_t>(j) * B;
    const int valid = std::min(gemm_rows, rows - j);
    // Two lane vectors by gemm_rows rows: 2 + gemm_rows loads feed 2 gemm_rows FMAs.
    for (std::size_t l0 = 0; l0 < len; l0 += 2 * W) {
      const Real* xl = b.xc.data() + l0;
      Vec<Real> g[2][gemm_rows] = {};
#if !defined(__AVX512F__)
      // Unrolled by 4, not peeled whole at a compile-time d (the build's
      // peeling parameters): 1-thread probe, Zen 3, float sum d = 32,
      // 4.8e8-5.3e8 -> 5.6e8-6.1e8 pairs/s.
#pragma GCC unroll 4
#endif
      for (int k = 0; k < ds; ++k) {
        const Vec<Real> xa = load(xl + static_cast<std::size_t>(k) * B), xb = load(xl + static_cast<std::size_t>(k) * B + W);
        const Real* yk = yj + k;
        FLOWSAMPLER_UNROLL for (int r = 0; r < gemm_rows; ++r) {
          const Real yr = yk[static_cast<std::size_t>(r) * ys];
          g[0][r] += xa * yr, g[1][r] += xb * yr;
        }
      }
      // Lanes past len hold x = 0 (then r2 = |y|^2 passes); rows past
      // `valid` may fail and cost a needless rescan.
      R2Block<Real> v;
      decltype(g[0][0] < g[0][0]) bad{};
      for (std::size_t h = 0; h < 2; ++h) {
        const Vec<Real> xn = load(b.xn.data() + l0 + h * W);
        for (int r = 0; r < gemm_rows; ++r) {
          const Vec<Real> norms = xn + yn[j + r];
          v[h][r] = norms - Real(2) * g[h][r];
          bad |= ~(v[h][r] >= frac * norms);  // set for NaN too
        }
      }
      if (any_lane(bad)) {
        for (int r = 0; r < gemm_rows; ++r)
          for (std::size_t h = 0; h < 2; ++h) store(rj + static_cast<std::size_t>(r) * B + l0 + h * W, v[h][r]);
        for (int r = 0; r < valid; ++r)
          for (std::size_t l = l0; l < std::min(len, l0 + 2 * W); ++l) {
            Real& e = rj[static_cast<std::size_t>(r) * B + l];
            if (!(e >= frac * (b.xn[l] + yn[j + r])))
              e = sqdist_exact<D>(b, l, y_raw + static_cast<std::size_t>(j + r) * ys, d);
          }
        for (int r = 0; r < gemm_rows; ++r)
          for (std::size_t h = 0; h < 2; ++h) v[h][r] = load(rj + static_cast<std::size_t>(r) * B + l0 + h * W);
      }
      block(v, l0, j, valid);
    }
  }
}

/// tacc[k * B + l] += sum_j w[j * B + l] v[j * vcols + k] over `rows` rows:
/// two lane vectors by value_cols columns, so that 2 + value_cols loads feed
/// 2 value_cols FMAs.
template <class Real>
void weighted_rows(DistanceBlock<Real>& b, std::size_t len, const Real* v, int rows, int vcols) {
  constexpr std::size_t W = lanes_per_vector<Real>;
  const std::size_t B = b.B, vs = static_cast<std::size_t>(vcols);
  for (int k0 = 0; k0 < vcols; k0 += value_cols) {
    const Real* vk = v + k0;
    Real* t = b.tacc.data() + static_cast<std::size_t>(k0) * B;
    for (std::size_t l0 = 0; l0 < len; l0 += 2 * W) {
      const Real* wl = b.w.data() + l0;
      Vec<Real> s[2][value_cols] = {};
      for (int j = 0; j < rows; ++j) {
        const Vec<Real> wa = in_register(load(wl + static_cast<std::size_t>(j) * B));
        const Vec<Real> wb = in_register(load(wl + static_cast<std::size_t>(j) * B + W));
        const Real* vj = vk + static_cast<std::size_t>(j) * vs;
        FLOWSAMPLER_UNROLL for (int c = 0; c < value_cols; ++c) s[0][c] += wa * vj[c], s[1][c] += wb * vj[c];
      }
      Real* o = t + l0;
      for (std::size_t h = 0; h < 2; ++h)
        for (int c = 0; c < value_cols; ++c) store(o + c * B + h * W, load(o + c * B + h * W) + s[h][c]);
    }
  }
}

}  // namespace detail

/// Calls f(s0, rows) for each run [s0, s0 + rows) of the tile [j0, j0 + tl),
/// after block(r2, s0, l0, j, valid) has taken each of the run's register
/// blocks (see detail::sqdist_rows). Runs sit on the absolute grid of
/// run_rows, so a cut of M on the tile grid gives the same runs, and the same
/// register blocks, as the uncut call.
template <int D, class Real, class Block, class F>
void for_each_run(DistanceBlock<Real>& b, const PairwiseArgs<Real>& a, std::size_t len, std::size_t j0, int tl,
                  Block&& block, F&& f) {
  const DistanceRows<Real>& dr = *a.dist;
  const std::size_t ds = static_cast<std::size_t>(a.d), j_end = j0 + static_cast<std::size_t>(tl);
  for (std::size_t s0 = j0; s0 < j_end;) {
    const std::size_t s1 = std::min(j_end, (s0 / detail::run_rows<Real> + 1) * detail::run_rows<Real>);
    const int rows = static_cast<int>(s1 - s0);
    const Real* y = dr.y.data() + s0 * ds;
    detail::sqdist_rows<D>(
        b, len, y, dr.yn.data() + s0, dr.raw + s0 * ds, rows, a.d,
        [&](const detail::R2Block<Real>& v, std::size_t l0, int j, int valid) { block(v, s0, l0, j, valid); });
    f(s0, rows);
    s0 = s1;
  }
}

/// As above with the run's r2 in b.r2 (row j of the run at j * B) when f runs.
template <int D, class Real, class F>
void for_each_run(DistanceBlock<Real>& b, const PairwiseArgs<Real>& a, std::size_t len, std::size_t j0, int tl, F&& f) {
  constexpr std::size_t W = detail::lanes_per_vector<Real>;
  Real* r2 = b.r2.data();
  const std::size_t B = b.B;
  const auto keep = [r2, B](const detail::R2Block<Real>& v, std::size_t, std::size_t l0, int j, int) {
    for (int r = 0; r < detail::gemm_rows; ++r)
      for (std::size_t h = 0; h < 2; ++h) detail::store(r2 + static_cast<std::size_t>(j + r) * B + l0 + h * W, v[h][r]);
  };
  for_each_run<D>(b, a, len, j0, tl, keep, f);
}

}  // namespace flowsampler::cpu
