#pragma once
// Small Eigen helpers the tests share.
#include <Eigen/Dense>
#include <vector>

namespace flowsampler::test {

/// The entries of M, row by row.
inline std::vector<double> flat(const Eigen::MatrixXd& M) {
  std::vector<double> out;
  for (long i = 0; i < M.rows(); ++i)
    for (long j = 0; j < M.cols(); ++j) out.push_back(M(i, j));
  return out;
}

}  // namespace flowsampler::test
