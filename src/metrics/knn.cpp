#include "flowsampler/metrics/knn.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/launch.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/metrics/moments.hpp"
#include "flowsampler/pairwise/pairwise.hpp"
#include "metrics/knn.hpp"

namespace flowsampler::metrics {

namespace {

// The share of duplicated points the kNN estimators accept (see sum_log_kth_distance).
constexpr double max_duplicate_share = 0.01;

double digamma(double x) {
  // Recurrence up to x >= 6, then the asymptotic series (error < 1e-12 there).
  double r = 0;
  while (x < 6) r -= 1 / x++;
  const double f = 1 / (x * x);
  return r + std::log(x) - 0.5 / x - f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))));
}

// Sum over i of the log of the k-th nearest-neighbour distance of x_i among
// `y`, skipping x_i itself when y is x (the neighbour with index i): one
// reduction on the device (and a second one, to name the point, on error).
template <class Real>
double sum_log_kth_distance(const Context& ctx, const ParticleSet<Real>& x, const ParticleSet<Real>& y, int k, bool self) {
  const int kk = self ? k + 1 : k;
  const auto r = pairwise::kmin_sqdist(ctx, x, y, kk);
  const kernels::KthNeighbour<Real> nb{r.dist2.data(), r.index.data(), x.n(), k, kk, self};
  const std::vector<double> s = detail::reduce(ctx, x.n(), 3, kernels::LogKthDistance<Real>{nb});
  if (s[1] > 0) {
    const double first = -detail::reduce(ctx, x.n(), 1, kernels::FirstZeroKth<Real>{nb})[0];
    FLOWSAMPLER_EXPECTS(false, "knn: point " << static_cast<std::size_t>(first) << " has " << k
                                             << " neighbours at distance 0 (duplicate points); the estimator needs distinct points");
  }
  // Fewer than k copies leave every distance positive, yet each duplicate
  // shrinks its point's k-th distance to the (k-1)-th: a bias no tolerance
  // can name. A few stray copies are allowed (their share of the sum).
  FLOWSAMPLER_EXPECTS(!self || s[2] <= max_duplicate_share * double(x.n()),
                      "knn: " << s[2] << " of the " << x.n() << " points (" << 100 * s[2] / double(x.n())
                              << "%) have a duplicate (a neighbour at distance 0): the kNN estimators assume a law with a "
                                 "density; drop the duplicates or jitter them (at most "
                              << 100 * max_duplicate_share << "% are accepted)");
  return s[0];
}

// A cloud on an affine subspace of lower dimension (a line in the plane) has
// no density: its entropy is -infinity and its KL to a law with a density
// +infinity, while the kNN formulas return finite numbers. Found from the
// covariance's spectrum: an eigenvalue within rounding of 0 relative to the largest.
template <class Real>
void expect_full_dimensional(const Context& ctx, const ParticleSet<Real>& x, const char* what) {
  if (x.n() < 2) return;
  const std::size_t d = x.d();
  const std::vector<double> C = covariance(ctx, x);
  Eigen::Map<const Eigen::MatrixXd> M(C.data(), Eigen::Index(d), Eigen::Index(d));
  const Eigen::VectorXd lam = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(M, Eigen::EigenvaluesOnly).eigenvalues();
  // Rounding leaves a flat cloud a thickness of about eps(Real) times the
  // size of its coordinates (not its extent: a short line far from the origin
  // is rounded as coarsely as a long one), and the covariance's sums in double
  // add about eps(double) of the spectrum's top: neither is a dimension.
  const std::vector<double> m = mean(ctx, x);
  double second_moment = 0;  // the largest E[x_j^2], about the origin
  for (std::size_t j = 0; j < d; ++j) second_moment = std::max(second_moment, C[j * d + j] + m[j] * m[j]);
  const double data_floor = std::pow(double(d) * std::numeric_limits<Real>::epsilon(), 2) * second_moment;
  const double sum_floor = 64 * double(d) * std::numeric_limits<double>::epsilon() * lam.maxCoeff();
  const double floor = std::max(data_floor, sum_floor);
  int rank = 0;
  for (Eigen::Index j = 0; j < lam.size(); ++j) rank += lam(j) > floor;
  FLOWSAMPLER_EXPECTS(rank == int(d), "knn: the points of " << what << " span " << rank << " of their " << d
                                          << " dimensions (covariance eigenvalues down to " << lam.minCoeff() << " against "
                                          << lam.maxCoeff() << "): their law has no density, so its entropy is -infinity "
                                             "and a KL from it infinite; the kNN estimate would be a finite number that "
                                             "means nothing. Project onto the spanned subspace first");
}

template <class Real>
void expect_sizes(const ParticleSet<Real>& x, int k, const char* what) {
  FLOWSAMPLER_EXPECTS(k >= 1 && k <= 31, what << ": k must be in [1, 31], got " << k);
  FLOWSAMPLER_EXPECTS(x.n() > static_cast<std::size_t>(k), what << ": need more than k = " << k << " points, got " << x.n());
}

}  // namespace

template <class Real>
double knn_entropy(const Context& ctx, const ParticleSet<Real>& x, int k) {
  expect_sizes(x, k, "knn_entropy");
  expect_full_dimensional(ctx, x, "x");
  const double n = double(x.n()), d = double(x.d());
  const double s = sum_log_kth_distance(ctx, x, x, k, true);
  const double log_unit_ball = 0.5 * d * std::log(M_PI) - std::lgamma(0.5 * d + 1);
  return digamma(n) - digamma(k) + log_unit_ball + d * s / n;
}

template <class Real>
double knn_kl_divergence(const Context& ctx, const ParticleSet<Real>& x, const ParticleSet<Real>& y, int k) {
  expect_sizes(x, k, "knn_kl");
  FLOWSAMPLER_EXPECTS(y.n() >= static_cast<std::size_t>(k), "knn_kl: y needs at least k = " << k << " points, got " << y.n());
  FLOWSAMPLER_EXPECTS(x.d() == y.d(), "knn_kl: x has d = " << x.d() << ", y has d = " << y.d());
  expect_full_dimensional(ctx, x, "x");
  expect_full_dimensional(ctx, y, "y");
  const double rho = sum_log_kth_distance(ctx, x, x, k, true), nu = sum_log_kth_distance(ctx, x, y, k, false);
  const double s = nu - rho;
  const double n = double(x.n());
  return double(x.d()) * s / n + std::log(double(y.n()) / (n - 1));
}

#define FLOWSAMPLER_INSTANTIATE(Real)                                                 \
  template double knn_entropy<Real>(const Context&, const ParticleSet<Real>&, int); \
  template double knn_kl_divergence<Real>(const Context&, const ParticleSet<Real>&, const ParticleSet<Real>&, int);
FLOWSAMPLER_INSTANTIATE(float)
FLOWSAMPLER_INSTANTIATE(double)
#undef FLOWSAMPLER_INSTANTIATE

}  // namespace flowsampler::metrics
