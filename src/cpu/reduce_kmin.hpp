#pragma once
// The k-min reduction as a policy of the tiled CPU driver: dist/idx (n x k
// column-major) the k smallest distances of each x_i and their y rows,
// ascending, ties by lower index. Slots beyond m (k > m) hold +inf and index
// UINT32_MAX.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cpu/pairwise_driver.hpp"
#include "pairwise/reductions.hpp"
#include "pairwise/tiles.hpp"

namespace flowsampler::cpu {

template <int D, class Op, class Real>
struct KminPolicy {
  const Op* op;
  int k;
  Real* dist;          ///< n x k column-major; null where only the states are wanted
  std::uint32_t* idx;  ///< n x k column-major

  /// The lists of `count` lanes: lane l's slot t at best/bidx[t * count + l].
  struct States {
    std::size_t count;
    int k;
    std::vector<Real> best;
    std::vector<std::uint32_t> bidx;
    States(const KminPolicy& pol, std::size_t c)
        : count(c),
          k(pol.k),
          best(static_cast<std::size_t>(k) * c),
          bidx(static_cast<std::size_t>(k) * c) {
      clear();
    }
    void clear() {
      for (std::size_t l = 0; l < count; ++l) {
        auto d = dist(l);
        auto i = index(l);
        kernels::kmin_init<Real>(k, d, i);
      }
    }
    kernels::Strided<Real> dist(std::size_t l) { return {best.data() + l, count}; }
    kernels::Strided<const Real> dist(std::size_t l) const { return {best.data() + l, count}; }
    kernels::Strided<std::uint32_t> index(std::size_t l) { return {bidx.data() + l, count}; }
    kernels::Strided<const std::uint32_t> index(std::size_t l) const { return {bidx.data() + l, count}; }
  };

  static constexpr bool distance = false;  // k-min compares r2 across near pairs: pair by pair

  struct Lanes {
    States st;
    Lanes(const KminPolicy& pol, const PairwiseArgs<Real>&, std::size_t rows, std::size_t, std::size_t) : st(pol, rows) {}
    void reset(const PairwiseArgs<Real>&, std::size_t, std::size_t) { st.clear(); }
  };

  void tile(Lanes& lanes, const PairwiseArgs<Real>& a, std::size_t i0, std::size_t len, std::size_t j0, int tl) const {
    detail::nonempty_tile(tl);
    const std::size_t B = lanes.st.count;
    const Op& o = *op;
    const Real* x = a.x;
    const std::size_t n = a.n;
    const int d = a.d, ds = kernels::dim<D>(d), q = Op::payload_dim(ds), kk = k;
    const Real* yt = a.y_rows + j0 * static_cast<std::size_t>(ds);
    const Real* pt = a.py_rows + j0 * static_cast<std::size_t>(q);
    Real* bp = lanes.st.best.data();
    std::uint32_t* ip = lanes.st.bidx.data();
    for (int j = 0; j < tl; ++j) {
      const Real* y = yt + static_cast<std::size_t>(j) * ds;
      const Real* py = pt + static_cast<std::size_t>(j) * q;
      const unsigned id = static_cast<unsigned>(j0) + static_cast<unsigned>(j);
#pragma omp simd
      for (std::size_t l = 0; l < len; ++l) {
        const kernels::Strided<const Real> xs{x + i0 + l, n};
        kernels::Strided<Real> bv{bp + l, B};
        kernels::Strided<std::uint32_t> iv{ip + l, B};
        kernels::kmin_insert(o.template distance<D>(xs, y, py, d), id, kk, bv, iv);
      }
    }
  }

  /// Copies the lists of lanes 0..len-1 to lanes i0.. of `to`.
  void save(const States& from, std::size_t len, std::size_t i0, States& to) const {
    for (std::size_t l = 0; l < len; ++l)
      for (int t = 0; t < k; ++t) to.dist(i0 + l)(t) = from.dist(l)(t), to.index(i0 + l)(t) = from.index(l)(t);
  }

  void merge(States& a, const States& b) const {
    for (std::size_t l = 0; l < a.count; ++l) {
      auto da = a.dist(l);
      auto ia = a.index(l);
      kernels::kmin_merge<Real>(k, da, ia, b.dist(l), b.index(l));
    }
  }

  /// Outputs of x rows i0..i0+len-1 from lanes 0..len-1 of st.
  void finish(const States& st, const PairwiseArgs<Real>& a, std::size_t i0, std::size_t len) const {
    for (std::size_t l = 0; l < len; ++l) {
      kernels::Strided<Real> od{dist + i0 + l, a.n};
      kernels::Strided<std::uint32_t> oi{idx + i0 + l, a.n};
      kernels::kmin_finish(k, st.dist(l), st.index(l), od, oi);
    }
  }
};

}  // namespace flowsampler::cpu
