#pragma once
/// \file Exact W2 between two equal-size point clouds with uniform weights, by an
/// optimal assignment (with uniform weights and N = M an optimal transport plan
/// can always be taken to be a permutation, Birkhoff–von Neumann).
#include <cstddef>
#include <vector>

#include "flowsampler/core/error.hpp"
#include "flowsampler/core/particle_set.hpp"

namespace flowsampler::metrics {

/// An optimal assignment and the certificate of its optimality.
struct Assignment {
  /// match[i] = j: x_i is paired with y_j (a permutation of 0..n-1).
  std::vector<std::size_t> match;
  /// Mean over i of |x_i - y_match[i]|^2, i.e. W2^2 between the two uniform
  /// empirical measures (take the square root for W2).
  double cost = 0;
  /// Dual potentials of the assignment LP, u (n values, rows = x) and v (n values,
  /// columns = y): c_ij - u_i - v_j >= 0 up to rounding for every pair, with equality
  /// on the matched pairs, so sum(u) + sum(v) = n * cost proves optimality.
  std::vector<double> u, v;
};

/// Exact min-cost perfect matching for the squared Euclidean cost c_ij = |x_i - y_j|^2.
///
/// x and y hold n points of dimension d each, column-major (coordinate k of point i
/// at k*n + i). Coordinates may be float or double; distances and potentials are
/// computed in double from exact differences (no |x|^2 + |y|^2 - 2 x.y cancellation).
///
/// Algorithm: Jonker–Volgenant — column reduction, reduction transfer, two (capped)
/// passes of augmenting row reduction, then one Dijkstra shortest augmenting path (in
/// reduced costs, with potentials) per remaining free row. O(n^3) time in the worst
/// case, far less on random clouds (n = 2000, d = 3: about 0.1 s on one core).
/// Single-threaded. Memory: for d <= 6 costs are computed on the fly from the
/// coordinates (O(n d) extra memory: recomputing is cheaper than streaming a matrix
/// row from memory); for d > 6 and n <= 4096 the dense n x n cost matrix in double
/// (8 n^2 bytes, 128 MB at n = 4096) is computed once and read row by row; for d > 6
/// and larger n, on the fly again.
///
/// Throws flowsampler::Error on n == 0, d == 0, n > 20000 (O(n^3) would not end in a
/// useful time), a null pointer, a non-finite coordinate, or squared distances that
/// overflow double.
template <class Real>
Assignment exact_assignment(const Real* x, const Real* y, std::size_t n, std::size_t d);

/// The same for two clouds on any backend. The assignment is sequential host
/// work: on a device context the two clouds are downloaded once (2 N d
/// values), and nothing else moves.
template <class Real>
Assignment exact_assignment(const ParticleSet<Real>& x, const ParticleSet<Real>& y) {
  FLOWSAMPLER_EXPECTS(x.n() == y.n(), "exact_w2: needs equal sizes, got N = " << x.n() << ", M = " << y.n()
                                                                             << " (use sinkhorn or sliced_w2 otherwise)");
  FLOWSAMPLER_EXPECTS(x.d() == y.d(), "exact_w2: x has d = " << x.d() << ", y has d = " << y.d());
  const std::vector<Real> xh = x.to_host(), yh = y.to_host();
  return exact_assignment(xh.data(), yh.data(), x.n(), x.d());
}

/// Largest n exact_assignment accepts.
inline constexpr std::size_t exact_assignment_max_n = 20000;

}  // namespace flowsampler::metrics
