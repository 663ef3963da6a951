#pragma once
// Small helpers the reproductions share: number formatting for tables,
// functions of symmetric matrices, and paired L2 distances with their
// Monte-Carlo standard error.
#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/symmetric_matrix.hpp"
#include "flowsampler/core/particle_set.hpp"

namespace flowsampler::cli::reproduce {

inline std::string fmt(double v, int digits = 4) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

// f(M) for symmetric M and (M + M^T) / 2: the library's own (src/core/symmetric_matrix.hpp).
using flowsampler::detail::spectral;
using flowsampler::detail::symmetric_part;

/// ||a - b||_L2 over paired rows and the standard error of its square (the
/// mean of |a_i - b_i|^2 over i.i.d. inputs).
struct Paired {
  double l2 = 0, sq = 0, sq_se = 0;
};

/// Over the first `rows` rows (0: all).
inline Paired paired(const ParticleSet<double>& a, const ParticleSet<double>& b, std::size_t rows = 0) {
  const std::vector<double> ah = a.to_host(), bh = b.to_host();
  const std::size_t n = a.n(), d = a.d();
  if (rows == 0) rows = n;
  std::vector<double> r(rows, 0.0);
  for (std::size_t k = 0; k < d; ++k)
    for (std::size_t i = 0; i < rows; ++i) r[i] += std::pow(ah[k * n + i] - bh[k * n + i], 2);
  double s = 0, s2 = 0;
  for (double v : r) s += v, s2 += v * v;
  Paired p;
  p.sq = s / double(rows);
  p.sq_se = std::sqrt(std::max(0.0, s2 / double(rows) - p.sq * p.sq) / double(rows - 1));
  p.l2 = std::sqrt(p.sq);
  return p;
}

}  // namespace flowsampler::cli::reproduce
