#pragma once
// The sum reduction as a policy of the tiled CPU driver: out (n x p
// column-major) = sum_j value(x_i, y_j), the tile sums in Real, carried across
// tiles in double. With a compile-time D up to 8 the x coordinates and the
// tile sums of a lane sit in registers; wider D and the runtime-d path (D = 0)
// keep the tile sums in per-thread scratch and sweep the lanes once per y row.
#include <cstddef>
#include <vector>

#include "cpu/distance_tile.hpp"
#include "cpu/pairwise_driver.hpp"
#include "pairwise/reductions.hpp"
#include "pairwise/tiles.hpp"

namespace flowsampler::cpu {

template <int D, class Op, class Real>
struct SumPolicy {
  const Op* op;
  Real* out;  ///< n x p column-major; null where only the states are wanted
  int p;

  SumPolicy(const Op& o, int d, Real* o_out) : op(&o), out(o_out), p(Op::value_dim(kernels::dim<D>(d))) {}

  /// The states of `count` lanes: lane l's entry k at carry[k * count + l].
  struct States {
    std::size_t count;
    int p;
    std::vector<double> carry;
    States(const SumPolicy& pol, std::size_t c) : count(c), p(pol.p), carry(static_cast<std::size_t>(p) * c) { clear(); }
    void clear() {
      for (std::size_t l = 0; l < count; ++l) {
        auto c = lane(l);
        kernels::sum_init(p, c);
      }
    }
    kernels::Strided<double> lane(std::size_t l) { return {carry.data() + l, count}; }
    kernels::Strided<const double> lane(std::size_t l) const { return {carry.data() + l, count}; }
  };

  static constexpr bool distance = by_distance<D, Op>;

  struct Lanes {
    States st;
    std::vector<Real> scratch;  // tile sums where they do not fit in registers
    DistanceBlock<Real> db;     // the tiles by distance
    Lanes(const SumPolicy& pol, const PairwiseArgs<Real>& a, std::size_t rows, std::size_t j_begin, std::size_t j_end)
        : st(pol, rows), scratch(detail::in_registers(D) || distance ? 0 : static_cast<std::size_t>(pol.p) * rows, Real(0)) {
      if constexpr (distance) db = DistanceBlock<Real>(rows, a, j_end - j_begin);
    }
    void reset(const PairwiseArgs<Real>& a, std::size_t i0, std::size_t len) {
      st.clear();
      if constexpr (distance) db.load(a, i0, len);
    }
  };

  /// A tile by distance: per run of rows the pairs' weights (and, for
  /// displacement ops, the weighted value rows), then the tile's sums into
  /// the carry, the displacement's x term in double. Ops whose weight is an
  /// exp of r2 (kernels::exp_weight) take each register block's weights in
  /// registers as the GEMM leaves them: the run's r2 never goes to memory.
  void distance_tile(Lanes& lanes, const PairwiseArgs<Real>& a, std::size_t len, std::size_t j0, int tl) const {
    const Op& o = *op;
    DistanceBlock<Real>& b = lanes.db;
    const std::size_t B = b.B;
    const std::size_t q = static_cast<std::size_t>(Op::payload_dim(a.d));
    constexpr kernels::PairValue form = Op::pair_value;
    Real* ts = b.tsum.data();
    const auto values = [&](std::size_t s0, int rows) {
      if constexpr (form == kernels::PairValue::displacement)
        detail::weighted_rows(b, len, a.dist->v.data() + s0 * static_cast<std::size_t>(a.dist->vcols), rows, a.dist->vcols);
    };
    if constexpr (kernels::exp_weight<Op>::value) {
      constexpr std::size_t W = detail::lanes_per_vector<Real>;
      const Real coef = o.r2_coef();
      Real* w = b.w.data();
      const auto block = [&](const detail::R2Block<Real>& v, std::size_t s0, std::size_t l0, int j, int valid) {
        detail::Vec<Real> sum[2] = {};
        for (int r = 0; r < detail::gemm_rows; ++r) {
          if (r == valid) break;
          const Real* py = a.py_rows + (s0 + static_cast<std::size_t>(j + r)) * q;
          detail::Vec<Real> ev[2] = {coef * v[0][r], coef * v[1][r]};
          detail::exp_nonpositive<Real>(ev);
          for (std::size_t h = 0; h < 2; ++h) {
            const detail::Vec<Real> e = o.weight_from_exp(ev[h], py);
            sum[h] += form == kernels::PairValue::sqdist ? e * v[h][r] : e;
            if constexpr (form == kernels::PairValue::displacement)
              detail::store(w + static_cast<std::size_t>(j + r) * B + l0 + h * W, e);
          }
        }
        for (std::size_t h = 0; h < 2; ++h) detail::store(ts + l0 + h * W, detail::load(ts + l0 + h * W) + sum[h]);
      };
      for_each_run<D>(b, a, len, j0, tl, block, values);
    } else {
      for_each_run<D>(b, a, len, j0, tl, [&](std::size_t s0, int rows) {
        for (int j = 0; j < rows; ++j) {
          const Real* py = a.py_rows + (s0 + static_cast<std::size_t>(j)) * q;
          const Real* rj = b.r2.data() + static_cast<std::size_t>(j) * B;
          Real* wj = b.w.data() + static_cast<std::size_t>(j) * B;
#pragma omp simd
          for (std::size_t l = 0; l < len; ++l) {
            const Real w = o.weight_of(rj[l], py);
            wj[l] = w;
            ts[l] += form == kernels::PairValue::sqdist ? w * rj[l] : w;
          }
        }
        values(s0, rows);
      });
    }
    double* cp = lanes.st.carry.data();
    if constexpr (form == kernels::PairValue::displacement) {
      const double coef = static_cast<double>(o.displacement_coef());
      for (int k = 0; k < a.d; ++k) {
        Real* tk = b.tacc.data() + static_cast<std::size_t>(k) * B;
        const Real* xk = b.xc.data() + static_cast<std::size_t>(k) * B;
        double* ck = cp + static_cast<std::size_t>(k) * lanes.st.count;
#pragma omp simd
        for (std::size_t l = 0; l < len; ++l) {
          ck[l] += static_cast<double>(tk[l]) + coef * static_cast<double>(xk[l]) * static_cast<double>(ts[l]);
          tk[l] = Real(0);
        }
      }
    } else {
#pragma omp simd
      for (std::size_t l = 0; l < len; ++l) cp[l] += static_cast<double>(ts[l]);
    }
    std::fill(b.tsum.begin(), b.tsum.end(), Real(0));
  }

  /// A tile with x in registers for ops whose weight is an exp of r2
  /// (kernels::exp_weight): H = detail::lane_vectors vectors of lanes at a
  /// time down the tile's rows, the weights of the H vectors one batch of
  /// exp_nonpositive (2^n one vscalef under AVX-512, one exponent field
  /// elsewhere, where the lane loop's fast_exp builds two and selects). Same
  /// pairs, same order, same exps: the sums equal the lane loop's bit for bit
  /// (measured: d = 3 float, 2 threads, 6.0e9 -> 9.0e9 pairs/s).
  void vector_tile(Lanes& lanes, const PairwiseArgs<Real>& a, std::size_t i0, std::size_t len, std::size_t j0,
                   int tl) const {
    constexpr std::size_t W = detail::lanes_per_vector<Real>;
    constexpr int P = Op::value_dim(D), q = Op::payload_dim(D);
    constexpr kernels::PairValue form = Op::pair_value;
    using V = detail::Vec<Real>;
    const Op& o = *op;
    const Real coef = o.r2_coef();
    const Real* yt = a.y_rows + j0 * static_cast<std::size_t>(D);
    const Real* pt = a.py_rows + j0 * static_cast<std::size_t>(q);
    const std::size_t B = lanes.st.count;
    constexpr int H = detail::lane_vectors<D + P>;
    for (std::size_t l0 = 0; l0 < len; l0 += H * W) {
      const std::size_t lanes_here = std::min(H * W, len - l0);
      V xv[H][D], acc[H][P] = {};
      detail::load_lanes<D>(a.x + i0 + l0, a.n, lanes_here, xv);
      for (int j = 0; j < tl; ++j) {
        const Real* y = yt + static_cast<std::size_t>(j) * D;
        const Real* py = pt + static_cast<std::size_t>(j) * q;
        V e[H];
        for (int h = 0; h < H; ++h) e[h] = coef * detail::sqdist_lanes<D>(xv[h], y);
        detail::exp_nonpositive<Real>(e);
        for (int h = 0; h < H; ++h) {
          const V w = o.weight_from_exp(e[h], py);
          if constexpr (form == kernels::PairValue::weight) acc[h][0] += w;
          if constexpr (form == kernels::PairValue::displacement)
            for (int k = 0; k < D; ++k) acc[h][k] += w * detail::displacement_lanes(o, xv[h][k], y, py, k);
        }
      }
      for (int k = 0; k < P; ++k)
        for (std::size_t l = 0; l < lanes_here; ++l)
          lanes.st.carry[static_cast<std::size_t>(k) * B + l0 + l] += static_cast<double>(acc[l / W][k][l % W]);
    }
  }

  void tile(Lanes& lanes, const PairwiseArgs<Real>& a, std::size_t i0, std::size_t len, std::size_t j0, int tl) const {
    detail::nonempty_tile(tl);
    if constexpr (distance) {
      distance_tile(lanes, a, len, j0, tl);
      return;
    }
    if constexpr (detail::in_registers(D) && kernels::exp_weight<Op>::value &&
                  Op::pair_value != kernels::PairValue::sqdist) {
      vector_tile(lanes, a, i0, len, j0, tl);
      return;
    }
    const std::size_t B = lanes.st.count;
    constexpr int P = D > 0 ? Op::value_dim(D) : 1;
    const Op& o = *op;
    const Real* x = a.x;
    const std::size_t n = a.n;
    const int d = a.d, ds = kernels::dim<D>(d), q = Op::payload_dim(ds), pp = D > 0 ? Op::value_dim(D) : p;
    const Real* yt = a.y_rows + j0 * static_cast<std::size_t>(ds);
    const Real* pt = a.py_rows + j0 * static_cast<std::size_t>(q);
    double* cp = lanes.st.carry.data();
    if constexpr (detail::in_registers(D)) {
      // Rows inside the lane loop: x and the tile sums stay in registers.
#pragma omp simd
      for (std::size_t l = 0; l < len; ++l) {
        kernels::Lane<Real, D> xr;
        FLOWSAMPLER_UNROLL for (int k = 0; k < D; ++k) xr(k) = x[k * n + i0 + l];
        kernels::Strided<double> c{cp + l, B};
        kernels::Lane<Real, P> t;
        FLOWSAMPLER_UNROLL for (int k = 0; k < P; ++k) t(k) = Real(0);
        kernels::sum_tile<D>(o, xr, yt, pt, tl, d, t);
        FLOWSAMPLER_UNROLL for (int k = 0; k < P; ++k) c(k) += static_cast<double>(t(k));
      }
    } else {
      // Wide or runtime d: one lane sweep per row, lane state in L1.
      Real* sp = lanes.scratch.data();
      for (int j = 0; j < tl; ++j) {
        const Real* y = yt + static_cast<std::size_t>(j) * ds;
        const Real* py = pt + static_cast<std::size_t>(j) * q;
#pragma omp simd
        for (std::size_t l = 0; l < len; ++l) {
          const kernels::Strided<const Real> xs{x + i0 + l, n};
          kernels::Strided<Real> t{sp + l, B};
          o.template add<D>(xs, y, py, d, t);
        }
      }
#pragma omp simd
      for (std::size_t l = 0; l < len; ++l) {
        kernels::Strided<double> c{cp + l, B};
        kernels::Strided<Real> t{sp + l, B};
        for (int k = 0; k < pp; ++k) c(k) += static_cast<double>(t(k)), t(k) = Real(0);
      }
    }
  }

  /// Copies the states of lanes 0..len-1 to lanes i0.. of `to`.
  void save(const States& from, std::size_t len, std::size_t i0, States& to) const {
    for (int k = 0; k < p; ++k)
      for (std::size_t l = 0; l < len; ++l) to.lane(i0 + l)(k) = from.lane(l)(k);
  }

  void merge(States& a, const States& b) const {
    for (std::size_t l = 0; l < a.count; ++l) {
      auto ca = a.lane(l);
      kernels::sum_merge(p, ca, b.lane(l));
    }
  }

  /// Outputs of x rows i0..i0+len-1 from lanes 0..len-1 of st.
  void finish(const States& st, const PairwiseArgs<Real>& a, std::size_t i0, std::size_t len) const {
    for (std::size_t l = 0; l < len; ++l) {
      kernels::Strided<Real> o{out + i0 + l, a.n};
      kernels::sum_finish<Real>(p, st.lane(l), o);
    }
  }
};

}  // namespace flowsampler::cpu
