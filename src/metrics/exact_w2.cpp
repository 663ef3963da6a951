#include "flowsampler/metrics/exact_w2.hpp"

#include <cmath>
#include <cstring>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "flowsampler/core/error.hpp"

namespace flowsampler::metrics {
namespace {

using Index = std::uint32_t;  // n <= 20000: halves the traffic of pred/match arrays
constexpr Index kNone = std::numeric_limits<Index>::max();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Above this n the dense matrix (8 n^2 bytes) stops fitting comfortably in memory and
// its rows stream from DRAM anyway, so recomputing a row costs little more than reading it.
constexpr std::size_t kDenseMaxN = 4096;

// The two hot loops (relaxation in the shortest-path phase, best-two search in the
// row reduction) each track a running minimum *and its index*. Compilers do not
// auto-vectorize an argmin, so they are written with GCC/Clang generic vectors: 4
// doubles per vector, lowered to AVX2/AVX-512 or to pairs of SSE2 registers
// depending on the target, with no intrinsics and no ISA dispatch.
typedef double V4d __attribute__((vector_size(32)));
typedef std::int64_t V4l __attribute__((vector_size(32)));  // lane masks and indices
typedef std::int32_t V4i __attribute__((vector_size(16)));  // pred lanes (Index)

// Unaligned loads/stores; memcpy compiles to a single vmovupd/movdqu.
inline V4d load(const double* p) {
  V4d v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(double* p, const V4d& v) { std::memcpy(p, &v, sizeof v); }
inline V4i load(const Index* p) {
  V4i v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(Index* p, const V4i& v) { std::memcpy(p, &v, sizeof v); }
inline V4d splat(double a) { return V4d{a, a, a, a}; }

// (value, index) candidates reduced to the smallest value, ties to the smallest index,
// so the result does not depend on the lane layout.
struct Best {
  double value = kInf;
  std::size_t index = 0;
  void offer(double value_, std::size_t index_) {
    if (value_ < value || (value_ == value && index_ < index)) {
      value = value_;
      index = index_;
    }
  }
};

// The coordinates of one cloud converted to double, still column-major, so that every
// distance loop runs over contiguous doubles whatever the caller's precision.
template <class Real>
std::vector<double> to_double(const Real* p, std::size_t n, std::size_t d, const char* name) {
  std::vector<double> out(n * d);
  for (std::size_t t = 0; t < n * d; ++t) {
    const double value = static_cast<double>(p[t]);
    FLOWSAMPLER_EXPECTS(std::isfinite(value), "exact_assignment: " << name << " must be finite, but coordinate "
                                                                   << t / n << " of point " << t % n << " is "
                                                                   << value);
    out[t] = value;
  }
  return out;
}

// row[j] = |x_i - y_j|^2 for all j. One pass over n per coordinate: y is column-major,
// so each pass is a unit-stride stream the compiler vectorizes, and the row (8n bytes)
// stays in L1/L2 between passes. Differences are squared directly rather than through
// |x|^2 + |y|^2 - 2 x.y, which would lose the small distances that decide the matching.
inline void distance_row(const double* x, const double* y, std::size_t n, std::size_t d, std::size_t i,
                         double* __restrict row) {
  {
    const double xi = x[i];
    const double* __restrict yk = y;
    for (std::size_t j = 0; j < n; ++j) {
      const double t = xi - yk[j];
      row[j] = t * t;
    }
  }
  for (std::size_t k = 1; k < d; ++k) {
    const double xi = x[k * n + i];
    const double* __restrict yk = y + k * n;
    for (std::size_t j = 0; j < n; ++j) {
      const double t = xi - yk[j];
      row[j] += t * t;
    }
  }
}

// Cost rows read from a matrix computed once.
class DenseRows {
 public:
  DenseRows(const double* x, const double* y, std::size_t n, std::size_t d) : n_(n), c_(n * n) {
    for (std::size_t i = 0; i < n; ++i) distance_row(x, y, n, d, i, c_.data() + i * n);
  }
  const double* row(std::size_t i) { return c_.data() + i * n_; }

 private:
  std::size_t n_;
  std::vector<double> c_;
};

// Cost rows recomputed on demand; the solver only ever holds one row at a time.
class LazyRows {
 public:
  LazyRows(const double* x, const double* y, std::size_t n, std::size_t d) : x_(x), y_(y), n_(n), d_(d), buf_(n) {}
  const double* row(std::size_t i) {
    distance_row(x_, y_, n_, d_, i, buf_.data());
    return buf_.data();
  }

 private:
  const double *x_, *y_;
  std::size_t n_, d_;
  std::vector<double> buf_;
};

// Jonker–Volgenant on an n x n cost given row by row. The dual is kept as column
// potentials v only: for an assigned row i the row potential is implicitly
// c(i, rowsol[i]) - v[rowsol[i]], and the invariant every phase keeps is that the
// assigned column of each assigned row minimizes c(i, .) - v(.) — that is exactly
// non-negativity of all reduced costs, which the shortest-path phase needs.
template <class Rows>
class Solver {
 public:
  Solver(Rows& rows, std::size_t n)
      : rows_(rows), n_(n), v_(n), rowsol_(n, kNone), colsol_(n, kNone), d_(n), pred_(n) {}

  void solve() {
    if (n_ == 1) {
      rowsol_[0] = colsol_[0] = 0;
      v_[0] = rows_.row(0)[0];
      return;
    }
    column_reduction();
    reduction_transfer();
    // Two passes, as Jonker and Volgenant found best: each pass is cheap (one row scan
    // per step) and leaves few rows for the expensive shortest-path phase.
    for (int pass = 0; pass < 2 && !free_.empty(); ++pass) augmenting_row_reduction();
    for (const Index f : free_) augment(f);
    free_.clear();
  }

  const std::vector<Index>& rowsol() const { return rowsol_; }
  const std::vector<double>& v() const { return v_; }

 private:
  // v_j = min_i c_ij; each column's argmin row takes it if still free. Rows are read in
  // order (one stream through the matrix); the per-column update is a blend, so the
  // inner loop vectorizes.
  void column_reduction() {
    std::vector<Index> argmin(n_, 0);
    {
      const double* r = rows_.row(0);
      for (std::size_t j = 0; j < n_; ++j) v_[j] = r[j];
    }
    for (std::size_t i = 1; i < n_; ++i) {
      const double* __restrict r = rows_.row(i);
      double* __restrict v = v_.data();
      Index* __restrict a = argmin.data();
      const Index ii = static_cast<Index>(i);
      for (std::size_t j = 0; j < n_; ++j) {
        const bool better = r[j] < v[j];
        v[j] = better ? r[j] : v[j];
        a[j] = better ? ii : a[j];
      }
    }
    matches_.assign(n_, 0);
    // Reverse column order as in the original: with ties, later columns give way.
    for (std::size_t j = n_; j-- > 0;) {
      const Index i = argmin[j];
      if (matches_[i]++ == 0) {
        rowsol_[i] = static_cast<Index>(j);
        colsol_[j] = i;
      }
    }
  }

  // A row that won exactly one column can hand the slack to its second-best column:
  // lowering v of its own column by the gap keeps it a row minimum and makes the other
  // rows less eager to take it, which shortens later augmentations.
  void reduction_transfer() {
    free_.clear();
    for (std::size_t i = 0; i < n_; ++i) {
      if (matches_[i] == 0) {
        free_.push_back(static_cast<Index>(i));
      } else if (matches_[i] == 1) {
        const std::size_t j1 = rowsol_[i];
        const double* __restrict r = rows_.row(i);
        const double* __restrict v = v_.data();
        double mu = kInf;
        for (std::size_t j = 0; j < n_; ++j) {
          const double h = j == j1 ? kInf : r[j] - v[j];
          mu = h < mu ? h : mu;
        }
        v_[j1] -= mu;
      }
    }
    matches_.clear();
    matches_.shrink_to_fit();
  }

  // Each free row takes its best column (by reduced cost); if that column was taken,
  // its row becomes free. When the best is strictly better than the second best, the
  // column's v drops by the gap (the row potential rises) and the evicted row is
  // retried at once; on a tie the row takes the second-best column and the evicted row
  // waits for the next pass. In exact arithmetic this terminates; in floating point a
  // gap below one ulp of v would not change v and could cycle forever, so such a gap
  // counts as a tie, and a step budget bounds the pass regardless (any row left free
  // is handled by the shortest-path phase, so stopping early is always safe).
  void augmenting_row_reduction() {
    const std::size_t prev_free = free_.size();
    std::size_t k = 0, num_free = 0;
    std::size_t budget = 8 * n_ + 16;
    while (k < prev_free && budget-- > 0) {
      const Index i = free_[k++];
      const double* __restrict r = rows_.row(i);
      std::size_t j1 = 0, j2 = 0;
      double u1 = 0, u2 = 0;
      best_two(r, u1, j1, u2, j2);
      Index i0 = colsol_[j1];
      const double lowered = v_[j1] - (u2 - u1);
      const bool strict = lowered < v_[j1];
      if (strict) {
        v_[j1] = lowered;
      } else if (i0 != kNone) {
        j1 = j2;
        i0 = colsol_[j2];
      }
      rowsol_[i] = static_cast<Index>(j1);
      colsol_[j1] = i;
      if (i0 != kNone) {
        rowsol_[i0] = kNone;
        if (strict)
          free_[--k] = i0;  // retry the evicted row now: its old column just got dearer
        else
          free_[num_free++] = i0;
      }
    }
    // Out of budget: keep the rows not yet tried (num_free <= k, so the copy is safe).
    while (k < prev_free) free_[num_free++] = free_[k++];
    free_.resize(num_free);
  }

  // Dijkstra from free row f over columns, distances in reduced costs (all >= 0 by the
  // invariant), until the nearest unsettled column is free; then flip the path and
  // shift the settled columns' potentials so the path is tight and the invariant holds.
  //
  // Settled columns are taken out of the scan by setting their distance to +inf and
  // their v to -inf (saved aside): the reduced cost then evaluates to +inf, never
  // improves the distance and is never the minimum. That keeps the hot loop a
  // branch-free pass over contiguous arrays, which the compiler vectorizes, instead of
  // walking an index list of unsettled columns.
  void augment(const Index f) {
    double* __restrict d = d_.data();
    double* __restrict v = v_.data();
    Index* __restrict pred = pred_.data();
    settled_.clear();

    double mn = kInf;
    std::size_t jm = 0;
    {
      const double* __restrict r = rows_.row(f);
      for (std::size_t j = 0; j < n_; ++j) {
        d[j] = r[j] - v[j];
        pred[j] = f;
      }
      mn = argmin(d, jm);
    }
    while (colsol_[jm] != kNone) {
      const Index i = colsol_[jm];
      settled_.push_back({static_cast<Index>(jm), mn, v[jm]});
      const double* __restrict r = rows_.row(i);
      // Reduced cost of row i shifted so its own (tight) column sits at distance mn.
      const double u1 = r[jm] - v[jm] - mn;
      v[jm] = -kInf;
      d[jm] = kInf;
      mn = relax(r, u1, i, jm);
    }
    for (const Settled& s : settled_) v[s.j] = s.v + (s.d - mn);

    for (std::size_t j = jm;;) {
      const Index i = pred[j];
      colsol_[j] = i;
      const Index next = rowsol_[i];
      rowsol_[i] = static_cast<Index>(j);
      if (i == f) break;
      j = next;
    }
  }

  // d_j <- min(d_j, c_ij - v_j - u1), pred_j <- i where improved; returns min_j d_j and
  // its index. One pass: the update, the running minimum and its index are packed
  // compares and blends, two independent vectors deep to hide the blend latency.
  double relax(const double* __restrict r, const double u1, const Index i, std::size_t& jm) {
    double* __restrict d = d_.data();
    const double* __restrict v = v_.data();
    Index* __restrict pred = pred_.data();
    const V4d u = splat(u1);
    const std::int32_t si = static_cast<std::int32_t>(i);
    const V4i ii = {si, si, si, si};
    V4d best0 = splat(kInf), best1 = best0;
    V4l where0 = {0, 0, 0, 0}, where1 = where0;
    V4l idx0 = {0, 1, 2, 3}, idx1 = {4, 5, 6, 7};
    const V4l step = {8, 8, 8, 8};
    const std::size_t nb = n_ - n_ % 8;
    for (std::size_t j = 0; j < nb; j += 8) {
      const V4d h0 = load(r + j) - load(v + j) - u, h1 = load(r + j + 4) - load(v + j + 4) - u;
      V4d d0 = load(d + j), d1 = load(d + j + 4);
      const V4l b0 = h0 < d0, b1 = h1 < d1;
      d0 = b0 ? h0 : d0;
      d1 = b1 ? h1 : d1;
      store(d + j, d0);
      store(d + j + 4, d1);
      store(pred + j, __builtin_convertvector(b0, V4i) ? ii : load(pred + j));
      store(pred + j + 4, __builtin_convertvector(b1, V4i) ? ii : load(pred + j + 4));
      const V4l l0 = d0 < best0, l1 = d1 < best1;
      best0 = l0 ? d0 : best0;
      best1 = l1 ? d1 : best1;
      where0 = l0 ? idx0 : where0;
      where1 = l1 ? idx1 : where1;
      idx0 += step;
      idx1 += step;
    }
    Best b;
    for (int l = 0; l < 4; ++l) {
      b.offer(best0[l], static_cast<std::size_t>(where0[l]));
      b.offer(best1[l], static_cast<std::size_t>(where1[l]));
    }
    for (std::size_t j = nb; j < n_; ++j) {
      const double h = r[j] - v[j] - u1;
      if (h < d[j]) {
        d[j] = h;
        pred[j] = i;
      }
      b.offer(d[j], j);
    }
    jm = b.index;
    return b.value;
  }

  // Smallest and second smallest of c_ij - v_j over j (n >= 2), with their columns.
  // Each lane keeps its own best two; the global best two are among the lanes'.
  void best_two(const double* __restrict r, double& u1, std::size_t& j1, double& u2, std::size_t& j2) const {
    const double* __restrict v = v_.data();
    V4d a = splat(kInf), b = a;  // per lane: smallest, second smallest
    V4l ia = {0, 0, 0, 0}, ib = ia, idx = {0, 1, 2, 3};
    const V4l step = {4, 4, 4, 4};
    const std::size_t nb = n_ - n_ % 4;
    for (std::size_t j = 0; j < nb; j += 4) {
      const V4d h = load(r + j) - load(v + j);
      const V4l lt_a = h < a, lt_b = h < b;
      b = lt_a ? a : (lt_b ? h : b);
      ib = lt_a ? ia : (lt_b ? idx : ib);
      a = lt_a ? h : a;
      ia = lt_a ? idx : ia;
      idx += step;
    }
    double cand[8 + 3];
    std::size_t where[8 + 3];
    std::size_t m = 0;
    for (int l = 0; l < 4; ++l) {
      cand[m] = a[l];
      where[m++] = static_cast<std::size_t>(ia[l]);
      cand[m] = b[l];
      where[m++] = static_cast<std::size_t>(ib[l]);
    }
    for (std::size_t j = nb; j < n_; ++j) {
      cand[m] = r[j] - v[j];
      where[m++] = j;
    }
    std::size_t taken = 0;
    for (std::size_t t = 1; t < m; ++t)
      if (cand[t] < cand[taken] || (cand[t] == cand[taken] && where[t] < where[taken])) taken = t;
    Best first;
    first.offer(cand[taken], where[taken]);
    Best second;
    for (std::size_t t = 0; t < m; ++t)
      if (t != taken) second.offer(cand[t], where[t]);
    u1 = first.value;
    j1 = first.index;
    u2 = second.value;
    j2 = second.index;
  }

  double argmin(const double* __restrict d, std::size_t& jm) const {
    double mn = kInf;
    jm = 0;
    for (std::size_t j = 0; j < n_; ++j)
      if (d[j] < mn) {
        mn = d[j];
        jm = j;
      }
    return mn;
  }

  struct Settled {
    Index j;
    double d, v;
  };

  Rows& rows_;
  std::size_t n_;
  std::vector<double> v_;
  std::vector<Index> rowsol_, colsol_;
  std::vector<Index> matches_, free_;
  std::vector<double> d_;
  std::vector<Index> pred_;
  std::vector<Settled> settled_;
};

template <class Rows>
Assignment run(const double* x, const double* y, std::size_t n, std::size_t d) {
  Rows rows(x, y, n, d);
  Solver<Rows> solver(rows, n);
  solver.solve();

  Assignment out;
  out.match.resize(n);
  out.u.resize(n);
  out.v = solver.v();
  long double total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t j = solver.rowsol()[i];
    out.match[i] = j;
    // Recomputed from the coordinates so the reported cost does not depend on how the
    // solver obtained its rows.
    double c = 0;
    for (std::size_t k = 0; k < d; ++k) {
      const double t = x[k * n + i] - y[k * n + j];
      c += t * t;
    }
    out.u[i] = c - out.v[j];
    total += c;
  }
  out.cost = static_cast<double>(total / static_cast<long double>(n));
  return out;
}

}  // namespace

template <class Real>
Assignment exact_assignment(const Real* x, const Real* y, std::size_t n, std::size_t d) {
  FLOWSAMPLER_EXPECTS(n > 0, "exact_assignment: n (points per cloud) must be positive, got " << n);
  FLOWSAMPLER_EXPECTS(d > 0, "exact_assignment: d (dimension) must be positive, got " << d);
  FLOWSAMPLER_EXPECTS(n <= exact_assignment_max_n, "exact_assignment: n must be at most "
                                                       << exact_assignment_max_n
                                                       << " (the solver is O(n^3) in time), got " << n);
  FLOWSAMPLER_EXPECTS(x != nullptr, "exact_assignment: x must point to n*d = " << n * d << " coordinates, got null");
  FLOWSAMPLER_EXPECTS(y != nullptr, "exact_assignment: y must point to n*d = " << n * d << " coordinates, got null");
  const std::vector<double> xd = to_double(x, n, d, "x");
  const std::vector<double> yd = to_double(y, n, d, "y");

  // The largest squared distance is at most d * (max|x| + max|y|)^2; refuse clouds
  // where that could overflow, rather than solve on infinities.
  double xmax = 0, ymax = 0;
  for (const double t : xd) xmax = std::fmax(xmax, std::fabs(t));
  for (const double t : yd) ymax = std::fmax(ymax, std::fabs(t));
  const double bound = std::sqrt(std::numeric_limits<double>::max() / (4.0 * static_cast<double>(d)));
  FLOWSAMPLER_EXPECTS(xmax <= bound && ymax <= bound,
                      "exact_assignment: coordinates must be at most " << bound << " in magnitude for d = " << d
                                                                       << " (squared distances would overflow), got "
                                                                       << (xmax > ymax ? xmax : ymax));

  if (n <= kDenseMaxN) return run<DenseRows>(xd.data(), yd.data(), n, d);
  return run<LazyRows>(xd.data(), yd.data(), n, d);
}

template Assignment exact_assignment<float>(const float*, const float*, std::size_t, std::size_t);
template Assignment exact_assignment<double>(const double*, const double*, std::size_t, std::size_t);

}  // namespace flowsampler::metrics
