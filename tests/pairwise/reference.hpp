#pragma once
// Slow, obviously-correct double-precision references for the pairwise engine.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "flowsampler/pairwise/pairwise.hpp"

namespace flowsampler::test {

/// Column-major n x d data as doubles.
struct Cloud {
  std::size_t n, d;
  std::vector<double> v;
  double operator()(std::size_t i, std::size_t k) const { return v[k * n + i]; }
};

inline double sqdist(const Cloud& x, std::size_t i, const Cloud& y, std::size_t j) {
  double s = 0;
  for (std::size_t k = 0; k < x.d; ++k) s += (x(i, k) - y(j, k)) * (x(i, k) - y(j, k));
  return s;
}

inline double kernel_value(pairwise::Kernel kind, double h, double r2) {
  const double r = std::sqrt(r2);
  switch (kind) {
    case pairwise::Kernel::gaussian: return std::exp(-r2 / (2 * h * h));
    case pairwise::Kernel::laplace: return std::exp(-r / h);
    case pairwise::Kernel::imq: return 1 / std::sqrt(1 + r2 / (h * h));
    case pairwise::Kernel::energy: return -r / h;
  }
  return NAN;
}

/// grad_x k by central finite differences of kernel_value (an independent
/// route to the gradient), except at r = 0 where the convention is 0 for the
/// non-smooth kernels.
inline std::vector<double> kernel_grad(pairwise::Kernel kind, double h, const Cloud& x, std::size_t i,
                                       const Cloud& y, std::size_t j) {
  std::vector<double> g(x.d, 0.0);
  const double r2 = sqdist(x, i, y, j);
  if (r2 == 0) return g;
  for (std::size_t k = 0; k < x.d; ++k) {
    const double step = 1e-5 * std::max(1.0, std::sqrt(r2));
    const double dk = x(i, k) - y(j, k);
    const double rp = r2 - dk * dk + (dk + step) * (dk + step);
    const double rm = r2 - dk * dk + (dk - step) * (dk - step);
    g[k] = (kernel_value(kind, h, rp) - kernel_value(kind, h, rm)) / (2 * step);
  }
  return g;
}

}  // namespace flowsampler::test
