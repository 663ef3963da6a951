// The cloud helpers shared by the sections of `reproduce closures` (closures.hpp).
#include <algorithm>
#include <cmath>

#include "closures.hpp"
#include "util.hpp"
#include "flowsampler/core/random.hpp"

namespace flowsampler::cli::reproduce::closures_detail {

Mat host(const Set& s) {
  const std::vector<double> h = s.to_host();
  return Eigen::Map<const Mat>(h.data(), Eigen::Index(s.n()), Eigen::Index(s.d()));
}

Set device(const Context& ctx, const Mat& P) { return Set::from_column_major(ctx, P.data(), std::size_t(P.rows()), std::size_t(P.cols())); }

Vec mean_of(const Mat& P) { return P.colwise().mean().transpose(); }

Mat cov_of(const Mat& P) {
  const Mat c = P.rowwise() - P.colwise().mean();
  return c.transpose() * c / double(P.rows());
}

Mat draw_gaussian(Context& ctx, std::size_t n, const Vec& m, const Mat& C) {
  Set e(ctx, n, std::size_t(m.size()));
  fill_normal(ctx, e);
  Mat P = host(e) * spectral(C, [](double v) { return std::sqrt(v); });
  P.rowwise() += m.transpose();
  return P;
}

Mat plane_rotation(std::size_t d, std::size_t i, std::size_t j, double theta) {
  Mat R = Mat::Identity(Eigen::Index(d), Eigen::Index(d));
  const auto a = Eigen::Index(i), b = Eigen::Index(j);
  R(a, a) = R(b, b) = std::cos(theta);
  R(a, b) = -std::sin(theta);
  R(b, a) = std::sin(theta);
  return R;
}

MeanSe mean_se(const std::vector<double>& v) {
  MeanSe r;
  if (v.empty()) return r;
  for (double x : v) r.mean += x;
  r.mean /= double(v.size());
  if (v.size() < 2) return r;
  double s2 = 0;
  for (double x : v) s2 += (x - r.mean) * (x - r.mean);
  r.se = std::sqrt(s2 / double(v.size() - 1) / double(v.size()));
  return r;
}

double t99(int df) {
  static const double q[] = {63.657, 9.925, 5.841, 4.604, 4.032, 3.707, 3.499, 3.355, 3.250, 3.169};
  if (df < 1) return INFINITY;
  if (df <= 10) return q[df - 1];
  const double z = 2.5758, n = df;  // Cornish-Fisher expansion about the normal quantile: within 0.5% for df > 10
  return z + (z * z * z + z) / (4 * n) + (5 * std::pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * n * n);
}

}  // namespace flowsampler::cli::reproduce::closures_detail
