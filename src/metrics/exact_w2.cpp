#include "flowsampler/metrics/exact_w2.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "flowsampler/core/error.hpp"

namespace flowsampler::metrics {
namespace {

using Index = std::uint32_t;  // n <= 20000: halves the traffic of the pred array
constexpr Index kNone = std::numeric_limits<Index>::max();
constexpr double kInf = std::numeric_limits<double>::infinity();

// The hot loops track a running minimum *and its index*; compilers do not vectorize
// an argmin on their own, so they are written with GCC/Clang generic vectors, with no
// intrinsics and no run-time ISA dispatch. W doubles per vector: 4 with AVX (also
// under AVX-512, where 8 lanes measured 2.5x slower with GCC 12: the 64-bit lane
// masks and blends of this loop lower badly to mask registers), else 2 for SSE2,
// since vectors wider than the target's get lowered piecewise through memory (10x).
#if defined(__AVX__)
constexpr std::size_t W = 4;
#else
constexpr std::size_t W = 2;
#endif
typedef double Vd __attribute__((vector_size(8 * W)));
typedef std::int64_t Vl __attribute__((vector_size(8 * W)));  // compare masks, column indices
typedef std::int32_t Vi __attribute__((vector_size(4 * W)));  // pred lanes (Index)

// memcpy is the portable unaligned load/store; it compiles to one vector move.
inline Vd load(const double* p) {
  Vd v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(double* p, const Vd& v) { std::memcpy(p, &v, sizeof v); }
inline Vi load(const Index* p) {
  Vi v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(Index* p, const Vi& v) { std::memcpy(p, &v, sizeof v); }
inline Vd splat(double a) {
  Vd v;
  for (std::size_t l = 0; l < W; ++l) v[l] = a;
  return v;
}
inline Vi splat(Index a) {
  Vi v;
  for (std::size_t l = 0; l < W; ++l) v[l] = static_cast<std::int32_t>(a);
  return v;
}
inline Vl splat_index(std::size_t a) {
  Vl v;
  for (std::size_t l = 0; l < W; ++l) v[l] = static_cast<std::int64_t>(a);
  return v;
}
// Lane l holds first + l.
inline Vl lane_index(std::size_t first) {
  Vl v;
  for (std::size_t l = 0; l < W; ++l) v[l] = static_cast<std::int64_t>(first + l);
  return v;
}

// Columns are padded to a multiple of kBlock so every loop runs over whole blocks with
// no scalar tail. A padding column carries v = -inf, so its reduced cost c - v is +inf:
// it never improves a distance, is never a minimum, and is never assigned.
constexpr std::size_t kBlock = 2 * W;
inline std::size_t padded(std::size_t n) { return (n + kBlock - 1) / kBlock * kBlock; }

// Squared distances computed from the coordinates whenever needed: O(n d) memory, and
// for small d cheaper than streaming a row of a dense matrix from memory. D > 0 fixes
// the dimension at compile time so the coordinates of x_i stay in registers across a
// row; D = 0 reads it at run time. Differences are squared directly rather than via
// |x|^2 + |y|^2 - 2 x.y, whose cancellation would blur the small distances that decide
// the matching.
template <int D>
class PointCost {
 public:
  using Row = const double*;  // the d coordinates of x_i

  PointCost(const double* x, const double* y, std::size_t n, std::size_t d)
      : n_(n), np_(padded(n)), d_(D > 0 ? D : d), xt_(n * d), y_(np_ * d, 0.0) {
    for (std::size_t k = 0; k < d; ++k)
      for (std::size_t i = 0; i < n; ++i) {
        xt_[i * d + k] = x[k * n + i];  // one point's coordinates together
        y_[k * np_ + i] = y[k * n + i];
      }
  }
  std::size_t n() const { return n_; }
  std::size_t padded_n() const { return np_; }
  Row row(std::size_t i) const { return xt_.data() + i * d_; }
  // c(i, j .. j+W-1), j a multiple of W.
  Vd atv(Row xi, std::size_t j) const {
    const std::size_t d = D > 0 ? std::size_t(D) : d_;
    const double* y = y_.data() + j;
    Vd t = splat(xi[0]) - load(y);
    Vd s = t * t;
    for (std::size_t k = 1; k < d; ++k) {
      t = splat(xi[k]) - load(y + k * np_);
      s += t * t;
    }
    return s;
  }

 private:
  std::size_t n_, np_, d_;
  std::vector<double> xt_, y_;
};

// The dense n x n matrix (padded), computed once; for larger d a row read is cheaper
// than recomputing it.
class MatrixCost {
 public:
  using Row = const double*;  // row i of the matrix

  template <class Source>
  explicit MatrixCost(const Source& src) : n_(src.n()), np_(src.padded_n()), c_(n_ * np_) {
    for (std::size_t i = 0; i < n_; ++i) {
      const auto xi = src.row(i);
      double* ci = c_.data() + i * np_;
      for (std::size_t j = 0; j < np_; j += W) store(ci + j, src.atv(xi, j));
    }
  }
  std::size_t n() const { return n_; }
  std::size_t padded_n() const { return np_; }
  Row row(std::size_t i) const { return c_.data() + i * np_; }
  Vd atv(Row r, std::size_t j) const { return load(r + j); }

 private:
  std::size_t n_, np_;
  std::vector<double> c_;
};

// (value, index) candidates reduced to the smallest value, ties to the smallest index,
// so results do not depend on which lane held what.
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

// Jonker–Volgenant. The dual is kept as column potentials v only: for an assigned row i
// the row potential is implicitly c(i, rowsol[i]) - v[rowsol[i]], and the invariant
// every phase keeps is that the assigned column of each assigned row minimizes
// c(i, .) - v(.) — exactly non-negativity of all reduced costs, which the
// shortest-path phase needs.
template <class Cost>
class Solver {
 public:
  explicit Solver(const Cost& cost)
      : cost_(cost),
        n_(cost.n()),
        np_(cost.padded_n()),
        v_(np_, -kInf),
        rowsol_(n_, kNone),
        colsol_(np_, kNone),
        d_(np_),
        pred_(np_, 0) {}

  void solve() {
    if (n_ == 1) {
      rowsol_[0] = colsol_[0] = 0;
      v_[0] = at(cost_.row(0), 0);
      return;
    }
    column_reduction();
    reduction_transfer();
    // Two passes as Jonker and Volgenant recommend; each step costs one row scan and
    // the step budget inside keeps a pass from costing more than it saves.
    for (int pass = 0; pass < 2 && !free_.empty(); ++pass) augmenting_row_reduction();
    for (const Index f : free_) augment(f);
    free_.clear();
  }

  const std::vector<Index>& rowsol() const { return rowsol_; }
  double v(std::size_t j) const { return v_[j]; }

 private:
  using Row = typename Cost::Row;

  // c(i, j) exactly as the vector loops see it (same lane arithmetic), so tightness
  // tests against values from those loops are bitwise consistent.
  double at(Row r, std::size_t j) const { return cost_.atv(r, j & ~(W - 1))[j & (W - 1)]; }

  // v_j = min_i c_ij, and each column's argmin row takes it if that row is still free.
  void column_reduction() {
    std::vector<Index> argmin(np_, 0);
    double* __restrict v = v_.data();
    Index* __restrict a = argmin.data();
    {
      const Row r = cost_.row(0);
      for (std::size_t j = 0; j < np_; j += W) store(v + j, cost_.atv(r, j));
    }
    for (std::size_t i = 1; i < n_; ++i) {
      const Row r = cost_.row(i);
      const Vi ii = splat(static_cast<Index>(i));
      for (std::size_t j = 0; j < np_; j += W) {
        const Vd c = cost_.atv(r, j), old = load(v + j);
        const Vl better = c < old;
        store(v + j, better ? c : old);
        store(a + j, __builtin_convertvector(better, Vi) ? ii : load(a + j));
      }
    }
    for (std::size_t j = n_; j < np_; ++j) v[j] = -kInf;
    matches_.assign(n_, 0);
    // Visited from the last column, as in the original; a row that is the minimum of
    // several columns keeps the first one visited, and the others stay unassigned.
    for (std::size_t j = n_; j-- > 0;) {
      const Index i = argmin[j];
      if (matches_[i]++ == 0) {
        rowsol_[i] = static_cast<Index>(j);
        colsol_[j] = i;
      }
    }
  }

  // A row that won exactly one column can lower that column's v by its gap to its
  // second-best column: the column stays a row minimum, and the other rows find it
  // less attractive, which shortens later augmentations.
  void reduction_transfer() {
    free_.clear();
    for (std::size_t i = 0; i < n_; ++i) {
      if (matches_[i] == 0) {
        free_.push_back(static_cast<Index>(i));
      } else if (matches_[i] == 1) {
        const std::size_t j1 = rowsol_[i];
        const double keep = v_[j1];
        v_[j1] = -kInf;  // excludes j1 from the minimum, like a padding column
        const double mu = min_reduced(cost_.row(i), 0.0).value;
        v_[j1] = keep - mu;
      }
    }
    matches_.clear();
    matches_.shrink_to_fit();
  }

  // Each free row takes its best column (by reduced cost); if that column was taken,
  // its row becomes free. When the best is strictly better than the second best, the
  // column's v drops by the gap and the evicted row is retried at once; on a tie the
  // row takes the second-best column and the evicted row waits for the next pass.
  // In floating point a gap below one ulp of v would leave v unchanged and could cycle
  // forever, so such a gap counts as a tie. On random clouds with real costs the
  // eviction chains get long and make little progress per row scan (measured: a pass
  // allowed 8 n steps uses them all and is slower overall than one capped at n), so
  // each pass is capped at n steps; stopping early is always safe, the shortest-path
  // phase takes whatever is left free.
  void augmenting_row_reduction() {
    const std::size_t prev_free = free_.size();
    std::size_t k = 0, num_free = 0;
    std::size_t budget = n_;
    while (k < prev_free && budget > 0) {
      --budget;
      const Index i = free_[k++];
      std::size_t j1 = 0, j2 = 0;
      double u1 = 0, u2 = 0;
      best_two(cost_.row(i), u1, j1, u2, j2);
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
  // shift the settled columns' potentials so that the path is tight and the invariant
  // holds again.
  //
  // A settled column leaves the scan by getting distance +inf and v = -inf (its v is
  // saved aside): its reduced cost is then +inf, which never improves the distance and
  // is never the minimum. The hot loop thus stays a branch-free pass over contiguous
  // arrays instead of a walk over an index list of unsettled columns.
  void augment(const Index f) {
    // No __restrict here: relax() writes the same arrays through its own pointers.
    double* d = d_.data();
    double* v = v_.data();
    settled_.clear();
    for (std::size_t j = 0; j < np_; ++j) d[j] = kInf;
    std::size_t jm = 0;
    double mn = relax(cost_.row(f), 0.0, f, jm);  // d = c(f, .) - v, pred = f
    while (colsol_[jm] != kNone) {
      const Index i = colsol_[jm];
      settled_.push_back({static_cast<Index>(jm), mn, v[jm]});
      const Row r = cost_.row(i);
      // Offset that puts row i's own (tight) column at distance mn.
      const double u1 = at(r, jm) - v[jm] - mn;
      v[jm] = -kInf;
      d[jm] = kInf;
      mn = relax(r, u1, i, jm);
    }
    for (const Settled& s : settled_) v[s.j] = s.v + (s.d - mn);

    for (std::size_t j = jm;;) {
      const Index i = pred_[j];
      colsol_[j] = i;
      const Index next = rowsol_[i];
      rowsol_[i] = static_cast<Index>(j);
      if (i == f) break;
      j = next;
    }
  }

  // d_j <- min(d_j, c_ij - v_j - u1), pred_j <- i where improved; returns the new
  // min_j d_j, its column in jm. The update, the running minimum and its index are
  // all packed compares and blends, two vectors deep to overlap their latencies.
  double relax(const Row r, const double u1, const Index i, std::size_t& jm) {
    double* __restrict d = d_.data();
    const double* __restrict v = v_.data();
    Index* __restrict pred = pred_.data();
    const Vd u = splat(u1);
    const Vi ii = splat(i);
    Vd best0 = splat(kInf), best1 = best0;
    Vl where0 = splat_index(0), where1 = where0;
    Vl idx0 = lane_index(0), idx1 = lane_index(W);
    const Vl step = splat_index(2 * W);
    for (std::size_t j = 0; j < np_; j += 2 * W) {
      const Vd h0 = cost_.atv(r, j) - load(v + j) - u;
      const Vd h1 = cost_.atv(r, j + W) - load(v + j + W) - u;
      Vd d0 = load(d + j), d1 = load(d + j + W);
      const Vl b0 = h0 < d0, b1 = h1 < d1;
      d0 = b0 ? h0 : d0;
      d1 = b1 ? h1 : d1;
      store(d + j, d0);
      store(d + j + W, d1);
      store(pred + j, __builtin_convertvector(b0, Vi) ? ii : load(pred + j));
      store(pred + j + W, __builtin_convertvector(b1, Vi) ? ii : load(pred + j + W));
      const Vl l0 = d0 < best0, l1 = d1 < best1;
      best0 = l0 ? d0 : best0;
      best1 = l1 ? d1 : best1;
      where0 = l0 ? idx0 : where0;
      where1 = l1 ? idx1 : where1;
      idx0 += step;
      idx1 += step;
    }
    Best b;
    for (std::size_t l = 0; l < W; ++l) {
      b.offer(best0[l], static_cast<std::size_t>(where0[l]));
      b.offer(best1[l], static_cast<std::size_t>(where1[l]));
    }
    jm = b.index;
    return b.value;
  }

  // min_j c_ij - v_j - u1 and its column.
  Best min_reduced(const Row r, const double u1) const {
    const double* __restrict v = v_.data();
    const Vd u = splat(u1);
    Vd best = splat(kInf);
    Vl where = splat_index(0), idx = lane_index(0);
    const Vl step = splat_index(W);
    for (std::size_t j = 0; j < np_; j += W) {
      const Vd h = cost_.atv(r, j) - load(v + j) - u;
      const Vl lower = h < best;
      best = lower ? h : best;
      where = lower ? idx : where;
      idx += step;
    }
    Best b;
    for (std::size_t l = 0; l < W; ++l) b.offer(best[l], static_cast<std::size_t>(where[l]));
    return b;
  }

  // Smallest and second smallest of c_ij - v_j over j (n >= 2) with their columns.
  // Each lane keeps its own best two; the overall best two are among those 2 W.
  void best_two(const Row r, double& u1, std::size_t& j1, double& u2, std::size_t& j2) const {
    const double* __restrict v = v_.data();
    Vd a = splat(kInf), b = a;  // per lane: smallest, second smallest
    Vl ia = splat_index(0), ib = ia, idx = lane_index(0);
    const Vl step = splat_index(W);
    for (std::size_t j = 0; j < np_; j += W) {
      const Vd h = cost_.atv(r, j) - load(v + j);
      const Vl lt_a = h < a, lt_b = h < b;
      b = lt_a ? a : (lt_b ? h : b);
      ib = lt_a ? ia : (lt_b ? idx : ib);
      a = lt_a ? h : a;
      ia = lt_a ? idx : ia;
      idx += step;
    }
    double cand[2 * W];
    std::size_t where[2 * W];
    for (std::size_t l = 0; l < W; ++l) {
      cand[2 * l] = a[l];
      where[2 * l] = static_cast<std::size_t>(ia[l]);
      cand[2 * l + 1] = b[l];
      where[2 * l + 1] = static_cast<std::size_t>(ib[l]);
    }
    std::size_t taken = 0;
    for (std::size_t t = 1; t < 2 * W; ++t)
      if (cand[t] < cand[taken] || (cand[t] == cand[taken] && where[t] < where[taken])) taken = t;
    Best second;
    for (std::size_t t = 0; t < 2 * W; ++t)
      if (t != taken) second.offer(cand[t], where[t]);
    u1 = cand[taken];
    j1 = where[taken];
    u2 = second.value;
    j2 = second.index;
  }

  struct Settled {
    Index j;
    double d, v;
  };

  const Cost& cost_;
  std::size_t n_, np_;
  std::vector<double> v_;
  std::vector<Index> rowsol_, colsol_;
  std::vector<Index> matches_, free_;
  std::vector<double> d_;
  std::vector<Index> pred_;
  std::vector<Settled> settled_;
};

// Up to this n the dense matrix (8 n^2 bytes, 128 MB here) is an option at all.
constexpr std::size_t kDenseMaxN = 4096;
// Up to this d recomputing a distance (d subtractions and multiply-adds on data that
// stays in cache) beats reading it from a matrix row that streams from memory.
constexpr std::size_t kPointMaxD = 6;

template <class Cost>
Assignment solve_with(const Cost& cost, const double* x, const double* y, std::size_t n, std::size_t d) {
  Solver<Cost> solver(cost);
  solver.solve();
  Assignment out;
  out.match.resize(n);
  out.u.resize(n);
  out.v.resize(n);
  long double total = 0;
  for (std::size_t j = 0; j < n; ++j) out.v[j] = solver.v(j);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t j = solver.rowsol()[i];
    out.match[i] = j;
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

template <int D>
Assignment solve_points(const double* x, const double* y, std::size_t n, std::size_t d) {
  const PointCost<D> cost(x, y, n, d);
  return solve_with(cost, x, y, n, d);
}

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

}  // namespace

template <class Real>
Assignment exact_assignment(const Real* x, const Real* y, std::size_t n, std::size_t d) {
  FLOWSAMPLER_EXPECTS(n > 0, "exact_assignment: n (points per cloud) must be positive, got " << n);
  FLOWSAMPLER_EXPECTS(d > 0, "exact_assignment: d (dimension) must be positive, got " << d);
  FLOWSAMPLER_EXPECTS(n <= exact_assignment_max_n, "exact_assignment: n must be at most "
                                                       << exact_assignment_max_n
                                                       << " (the solver is O(n^3) in time), got " << n);
  FLOWSAMPLER_EXPECTS(d <= std::numeric_limits<std::size_t>::max() / 64 / n,
                      "exact_assignment: n*d coordinates do not fit in memory, got n = " << n << ", d = " << d);
  FLOWSAMPLER_EXPECTS(x != nullptr, "exact_assignment: x must point to n*d = " << n * d << " coordinates, got null");
  FLOWSAMPLER_EXPECTS(y != nullptr, "exact_assignment: y must point to n*d = " << n * d << " coordinates, got null");
  const std::vector<double> xd = to_double(x, n, d, "x");
  const std::vector<double> yd = to_double(y, n, d, "y");

  // A squared distance is at most d * (max|x| + max|y|)^2; refuse clouds where that
  // could overflow rather than solve on infinities.
  double xmax = 0, ymax = 0;
  for (const double t : xd) xmax = std::fmax(xmax, std::fabs(t));
  for (const double t : yd) ymax = std::fmax(ymax, std::fabs(t));
  const double bound = std::sqrt(std::numeric_limits<double>::max() / (4.0 * static_cast<double>(d)));
  FLOWSAMPLER_EXPECTS(xmax <= bound && ymax <= bound,
                      "exact_assignment: coordinates must be at most " << bound << " in magnitude for d = " << d
                                                                       << " (squared distances would overflow), got "
                                                                       << (xmax > ymax ? xmax : ymax));

  const double* xp = xd.data();
  const double* yp = yd.data();
  if (d > kPointMaxD && n <= kDenseMaxN) {
    const MatrixCost cost(PointCost<0>(xp, yp, n, d));
    return solve_with(cost, xp, yp, n, d);
  }
  switch (d) {
    case 1: return solve_points<1>(xp, yp, n, d);
    case 2: return solve_points<2>(xp, yp, n, d);
    case 3: return solve_points<3>(xp, yp, n, d);
    default: return solve_points<0>(xp, yp, n, d);
  }
}

template Assignment exact_assignment<float>(const float*, const float*, std::size_t, std::size_t);
template Assignment exact_assignment<double>(const double*, const double*, std::size_t, std::size_t);

}  // namespace flowsampler::metrics
