#pragma once
// Functions of symmetric matrices through their eigendecomposition: the one
// place for U f(Lambda) U^T that the Bures maps, the Gaussian JKO step, the
// Gaussian closures and the Gaussian W2 share.
#include <Eigen/Dense>

namespace flowsampler::detail {

using SymmetricEigen = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>;

/// (M + M^T) / 2: products of symmetric matrices are symmetric only up to rounding.
inline Eigen::MatrixXd symmetric_part(const Eigen::MatrixXd& M) { return 0.5 * (M + M.transpose()); }

/// f(S) = U f(Lambda) U^T from S's eigendecomposition e (f applied to each eigenvalue).
template <class F>
Eigen::MatrixXd spectral(const SymmetricEigen& e, F f) {
  return e.eigenvectors() * e.eigenvalues().unaryExpr(f).asDiagonal() * e.eigenvectors().transpose();
}

/// f of the symmetric part of M.
template <class F>
Eigen::MatrixXd spectral(const Eigen::MatrixXd& M, F f) {
  return spectral(SymmetricEigen(symmetric_part(M)), f);
}

}  // namespace flowsampler::detail
