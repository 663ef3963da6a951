#pragma once
// Skipping a softmax's far rows. A softmax op with a distance form has
// logits logit_of(r2, py) = g(r2) + a(py) with g non-increasing
// (pairwise/ops.hpp). Over a span of y rows (span_rows of them, on an
// absolute grid) in the box S, a bound U(x) of x's logits comes from:
// - a quadratic g = -c r2 (Gaussian mean shift, soft-min): any affine
//   majorant a_j <= top + beta.y_j of the span's a (a least-squares plane,
//   then top the largest residual), since then
//     logit(x, y_j) <= top + beta.y - c |x - y|^2
//                    = top + |beta|^2 / 4c + beta.x - c |y - (x + beta / 2c)|^2
//   and y ranges over S: U(x) = level + beta.x - c dist^2(x + beta / 2c, S).
//   Sinkhorn's a = g / eps is close to affine over a small span (the
//   potentials are smooth), and without the plane its slope times the span's
//   width (tens of logit units at eps = 0.01) would hide every far span;
// - otherwise (Laplace) U(x) = logit_of(dist^2(x, S), py*), py* the span's
//   row of largest a.
// A lane whose running max is m_l gets at most span_rows e^(U - m_l) from
// the span; the span is left out when U(x_l) < m_l - margin for every lane
// of the block. With margin = ln(4 m / u) + 1 (m the y rows, u the unit
// roundoff) the skipped spans together move a normalizer by under u/4 of
// itself (it is at least e^m_l) and a mean by under u/4 of the largest
// |value| of a skipped pair: below the sums' own rounding. The +1 covers
// the engine's rounding of the logits (a few u of their size, where they
// are within the margin).
//
// Only clouds ordered in space (a block's rows close together, and a span's)
// have spans to skip: the Sinkhorn solver puts its clouds in Hilbert order
// (kernels/cloud/spatial_order.hpp). The softmax folds first the tile that
// holds the span of largest U at the block's centre, so that its lanes'
// maxima are already near their final values when the other spans are
// tested, and folds each run of consecutive spans it keeps as a tile of its
// own.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "cpu/pairwise_driver.hpp"
#include "pairwise/ops.hpp"

namespace flowsampler::cpu {

namespace detail {
constexpr std::size_t span_rows = 64;  // y rows per bounded span; divides tile_rows
static_assert(tile_rows % span_rows == 0);
constexpr int max_plane_dims = 8;  // the plane's least squares (d^3 per span) up to this d; past it beta = 0

/// Solves the d x d system A z = b in place (A symmetric positive
/// semi-definite, row-major) by elimination with partial pivoting; false
/// where a pivot vanishes (then any z would do: the caller takes beta = 0).
inline bool solve_small(std::vector<double>& A, std::vector<double>& b, int d) {
  for (int c = 0; c < d; ++c) {
    int piv = c;
    for (int r = c + 1; r < d; ++r)
      if (std::fabs(A[r * d + c]) > std::fabs(A[piv * d + c])) piv = r;
    if (!(std::fabs(A[piv * d + c]) > 0)) return false;
    if (piv != c) {
      for (int k = 0; k < d; ++k) std::swap(A[c * d + k], A[piv * d + k]);
      std::swap(b[c], b[piv]);
    }
    for (int r = c + 1; r < d; ++r) {
      const double f = A[r * d + c] / A[c * d + c];
      for (int k = c; k < d; ++k) A[r * d + k] -= f * A[c * d + k];
      b[r] -= f * b[c];
    }
  }
  for (int c = d - 1; c >= 0; --c) {
    double v = b[c];
    for (int k = c + 1; k < d; ++k) v -= A[c * d + k] * b[k];
    b[c] = v / A[c * d + c];
  }
  for (int c = 0; c < d; ++c)
    if (!std::isfinite(b[c])) return false;
  return true;
}
}  // namespace detail

template <class Real>
struct SpanBounds {
  int d = 0, q = 0;
  const Real* py = nullptr;  ///< the payload rows (row-major, q per row)
  double margin = 0;
  double c = 0;  ///< the quadratic logit's -g(r2) / r2 (> 0); 0 for another g
  std::vector<double> lo, hi, beta, shift;  ///< span t's box, plane slope, beta / 2c: [t d, t d + d)
  std::vector<double> level;                ///< span t's top + |beta|^2 / 4c (quadratic g)
  std::vector<std::size_t> top;             ///< span t's row of largest a (another g)
  std::vector<char> usable;                 ///< finite box and a, and g non-increasing

  /// The spans' bounds on the absolute grid of detail::span_rows.
  template <class Op>
  SpanBounds(const Op& op, const Real* y_rows, const Real* py_rows, std::size_t m, int dim)
      : d(dim), q(Op::payload_dim(dim)), py(py_rows) {
    constexpr double u = std::numeric_limits<Real>::epsilon() / 2, inf = std::numeric_limits<double>::infinity();
    margin = std::log(4.0 * static_cast<double>(m) / u) + 1.0;
    constexpr bool quadratic = kernels::quadratic_logit<Op>::value;
    if constexpr (quadratic) c = -static_cast<double>(op.r2_coef());
    const std::size_t spans = (m + detail::span_rows - 1) / detail::span_rows, ds = static_cast<std::size_t>(d);
    lo.assign(spans * ds, 0.0), hi.assign(spans * ds, 0.0), beta.assign(spans * ds, 0.0), shift.assign(spans * ds, 0.0);
    level.assign(spans, -inf), top.assign(spans, 0), usable.assign(spans, 0);
    std::vector<double> a(detail::span_rows), mean(ds), A(ds * ds), b(ds);
    for (std::size_t t = 0; t < spans; ++t) {
      const std::size_t j0 = t * detail::span_rows, j1 = std::min(m, j0 + detail::span_rows);
      bool finite = true;
      double best = -inf;
      top[t] = j0;
      for (std::size_t k = 0; k < ds; ++k) lo[t * ds + k] = hi[t * ds + k] = static_cast<double>(y_rows[j0 * ds + k]);
      for (std::size_t j = j0; j < j1; ++j) {
        for (std::size_t k = 0; k < ds; ++k) {
          const double v = static_cast<double>(y_rows[j * ds + k]);
          finite = finite && std::isfinite(v);
          lo[t * ds + k] = std::min(lo[t * ds + k], v), hi[t * ds + k] = std::max(hi[t * ds + k], v);
        }
        a[j - j0] = static_cast<double>(op.logit_of(Real(0), py_rows + j * static_cast<std::size_t>(q)));
        finite = finite && !std::isnan(a[j - j0]) && a[j - j0] < inf;  // -inf: a row of weight 0
        if (a[j - j0] > best) best = a[j - j0], top[t] = j;
      }
      if constexpr (quadratic) {
        usable[t] = finite && c > 0 && std::isfinite(c);
        if (usable[t] && best > -inf) fit_plane(y_rows, a.data(), j0, j1, t, mean, A, b);
      } else {
        // An op whose logit grows with the distance would make U no bound at all.
        const Real* pt = py_rows + top[t] * static_cast<std::size_t>(q);
        usable[t] = finite && !(op.logit_of(Real(1), pt) > op.logit_of(Real(0), pt));
      }
    }
  }

  /// Span t's plane: beta by least squares over its rows of finite a, top
  /// the largest residual, so that a_j <= top + beta.y_j on every row.
  void fit_plane(const Real* y_rows, const double* a, std::size_t j0, std::size_t j1, std::size_t t, std::vector<double>& mean,
                 std::vector<double>& A, std::vector<double>& b) {
    const std::size_t ds = static_cast<std::size_t>(d);
    double* bt = beta.data() + t * ds;
    if (d <= detail::max_plane_dims) {
      std::fill(mean.begin(), mean.end(), 0.0), std::fill(A.begin(), A.end(), 0.0), std::fill(b.begin(), b.end(), 0.0);
      double rows = 0, abar = 0;
      for (std::size_t j = j0; j < j1; ++j)
        if (a[j - j0] > -std::numeric_limits<double>::infinity()) {
          rows += 1, abar += a[j - j0];
          for (std::size_t k = 0; k < ds; ++k) mean[k] += static_cast<double>(y_rows[j * ds + k]);
        }
      abar /= rows;
      for (std::size_t k = 0; k < ds; ++k) mean[k] /= rows;
      for (std::size_t j = j0; j < j1; ++j) {
        if (!(a[j - j0] > -std::numeric_limits<double>::infinity())) continue;
        for (std::size_t r = 0; r < ds; ++r) {
          const double yr = static_cast<double>(y_rows[j * ds + r]) - mean[r];
          b[r] += yr * (a[j - j0] - abar);
          for (std::size_t k = 0; k < ds; ++k) A[r * ds + k] += yr * (static_cast<double>(y_rows[j * ds + k]) - mean[k]);
        }
      }
      if (detail::solve_small(A, b, d))
        for (std::size_t k = 0; k < ds; ++k) bt[k] = b[k];
    }
    double tp = -std::numeric_limits<double>::infinity(), b2 = 0;
    for (std::size_t j = j0; j < j1; ++j) {
      double r = a[j - j0];
      for (std::size_t k = 0; k < ds; ++k) r -= bt[k] * static_cast<double>(y_rows[j * ds + k]);
      tp = std::max(tp, r);  // rows of a = -inf give -inf
    }
    for (std::size_t k = 0; k < ds; ++k) b2 += bt[k] * bt[k], shift[t * ds + k] = bt[k] / (2 * c);
    level[t] = tp + b2 / (4 * c);  // +inf or NaN on overflow: then at() never lets the span go
  }

  /// U(x) for the point x (x[k * stride], k < d) against span t; +inf where
  /// the span cannot be bounded.
  template <class Op>
  double at(const Op& op, const Real* x, std::size_t stride, std::size_t t) const {
    if (!usable[t]) return std::numeric_limits<double>::infinity();
    const std::size_t ds = static_cast<std::size_t>(d);
    double dist = 0, lin = 0;
    for (std::size_t k = 0; k < ds; ++k) {
      const double xk = static_cast<double>(x[k * stride]), z = xk + shift[t * ds + k];
      const double gap = std::max({0.0, lo[t * ds + k] - z, z - hi[t * ds + k]});
      dist += gap * gap, lin += beta[t * ds + k] * xk;
    }
    if constexpr (kernels::quadratic_logit<Op>::value) return level[t] + lin - c * dist;
    return static_cast<double>(op.logit_of(static_cast<Real>(dist), py + top[t] * static_cast<std::size_t>(q)));
  }

  /// Whether span t adds nothing (to rounding) to any of the `len` lanes:
  /// x's rows from x (column stride n), their running maxima m.
  template <class Op>
  bool far(const Op& op, const Real* x, std::size_t n, std::size_t len, const Real* m, std::size_t t) const {
    if (!usable[t]) return false;
    for (std::size_t l = 0; l < len; ++l)
      if (!(at(op, x + l, n, t) < static_cast<double>(m[l]) - margin)) return false;
    return true;
  }
};

}  // namespace flowsampler::cpu
