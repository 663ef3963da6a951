// Exact constrained flow and implicit scheme for Gaussian source and target
// (see monge_gaussian.hpp for the derivation).
#include "monge_gaussian.hpp"

#include <cmath>
#include <vector>

#include "core/symmetric_matrix.hpp"
#include "flowsampler/core/error.hpp"

namespace flowsampler::cli::reproduce::gaussian_monge {

namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;
using flowsampler::detail::symmetric_part;

// The solution G of G S + S G = R (S symmetric positive definite, R symmetric).
MatrixXd lyapunov(const MatrixXd& S, const MatrixXd& R) {
  const Eigen::SelfAdjointEigenSolver<MatrixXd> es(S);
  const MatrixXd& U = es.eigenvectors();
  MatrixXd Rt = U.transpose() * R * U;
  for (Eigen::Index i = 0; i < Rt.rows(); ++i)
    for (Eigen::Index j = 0; j < Rt.cols(); ++j) Rt(i, j) /= es.eigenvalues()(i) + es.eigenvalues()(j);
  return symmetric_part(U * Rt * U.transpose());
}

bool spd(const MatrixXd& A) { return Eigen::LLT<MatrixXd>(A).info() == Eigen::Success; }

double logdet(const MatrixXd& A) {
  const Eigen::LLT<MatrixXd> llt(A);
  double s = 0;
  for (Eigen::Index i = 0; i < A.rows(); ++i) s += 2 * std::log(llt.matrixL()(i, i));
  return s;
}

// The symmetric basis E_p = e_i e_j^T + e_j e_i^T (i < j), e_i e_i^T.
std::vector<MatrixXd> symmetric_basis(Eigen::Index d) {
  std::vector<MatrixXd> B;
  for (Eigen::Index i = 0; i < d; ++i)
    for (Eigen::Index j = i; j < d; ++j) {
      MatrixXd E = MatrixXd::Zero(d, d);
      E(i, j) = E(j, i) = 1;
      B.push_back(E);
    }
  return B;
}

}  // namespace

double Problem::lambda() const {
  return 1.0 / Eigen::SelfAdjointEigenSolver<MatrixXd>(S2, Eigen::EigenvaluesOnly).eigenvalues().maxCoeff();
}

double kl(const Problem& p, const Affine& T) {
  const double d = double(p.m1.size());
  const MatrixXd Sigma = T.A * p.S1 * T.A;
  const Eigen::LLT<MatrixXd> L2(p.S2);
  const VectorXd dm = T.b - p.m2;
  return 0.5 * (L2.solve(Sigma).trace() + dm.dot(L2.solve(dm)) - d + logdet(p.S2) - logdet(Sigma));
}

double distance(const Problem& p, const Affine& T, const Affine& U) {
  const MatrixXd D = T.A - U.A;
  return std::sqrt((T.b - U.b).squaredNorm() + (D * p.S1 * D).trace());
}

Affine gradient(const Problem& p, const Affine& T) {
  const MatrixXd P2 = p.S2.inverse();
  const MatrixXd R = P2 * T.A * p.S1 + p.S1 * T.A * P2 - 2 * T.A.inverse();
  return {lyapunov(p.S1, symmetric_part(R)), P2 * (T.b - p.m2)};
}

Affine monge_map(const Problem& p) {
  const Eigen::SelfAdjointEigenSolver<MatrixXd> e1(p.S1);
  const MatrixXd r = e1.operatorSqrt(), ir = e1.operatorInverseSqrt();
  const MatrixXd mid = Eigen::SelfAdjointEigenSolver<MatrixXd>(symmetric_part(r * p.S2 * r)).operatorSqrt();
  return {symmetric_part(ir * mid * ir), p.m2};
}

Affine implicit_step(const Problem& p, const Affine& Tk, double tau) {
  const Eigen::Index d = p.m1.size();
  const MatrixXd P2 = p.S2.inverse(), I = MatrixXd::Identity(d, d);
  Affine T;
  // The mean part is quadratic: (b - b_k) / tau + S2^-1 (b - m2) = 0.
  T.b = (I + tau * P2).ldlt().solve(Tk.b + tau * P2 * p.m2);
  // f(A) = (1/2) tr(S2^-1 A S1 A) - log det A + (1 / 2 tau) tr((A - A_k) S1 (A - A_k)), strictly convex on SPD A.
  auto f = [&](const MatrixXd& A) {
    const MatrixXd D = A - Tk.A;
    return 0.5 * (P2 * A * p.S1 * A).trace() - logdet(A) + 0.5 / tau * (D * p.S1 * D).trace();
  };
  const std::vector<MatrixXd> B = symmetric_basis(d);
  const Eigen::Index m = Eigen::Index(B.size());
  T.A = Tk.A;
  for (int it = 0; it < 100; ++it) {
    const MatrixXd Ai = T.A.inverse();
    const MatrixXd G = symmetric_part(P2 * T.A * p.S1) - Ai + symmetric_part((T.A - Tk.A) * p.S1) / tau;  // Frobenius gradient
    VectorXd g(m);
    MatrixXd H(m, m);
    for (Eigen::Index q = 0; q < m; ++q) {
      g(q) = (B[std::size_t(q)] * G).trace();
      const MatrixXd& E = B[std::size_t(q)];
      const MatrixXd HE = symmetric_part(P2 * E * p.S1) + Ai * E * Ai + symmetric_part(E * p.S1) / tau;
      for (Eigen::Index r = 0; r < m; ++r) H(r, q) = (B[std::size_t(r)] * HE).trace();
    }
    if (g.norm() < 1e-12) return T;
    const VectorXd delta = -H.ldlt().solve(g);
    MatrixXd step = MatrixXd::Zero(d, d);
    for (Eigen::Index q = 0; q < m; ++q) step += delta(q) * B[std::size_t(q)];
    double s = 1;
    const double f0 = f(T.A);
    // Armijo backtracking far from the minimiser; near it (where f's
    // decrease drowns in rounding) the full Newton step, kept SPD.
    auto accept = [&](double t) {
      const MatrixXd A = T.A + t * step;
      return spd(A) && (g.norm() < 1e-6 || f(A) <= f0 + 1e-4 * t * g.dot(delta));
    };
    while (s > 1e-12 && !accept(s)) s *= 0.5;
    T.A = symmetric_part(T.A + s * step);
  }
  FLOWSAMPLER_EXPECTS(false, "gaussian monge: the implicit step's Newton iteration did not converge (tau " << tau << ")");
  return T;
}

Affine flow(const Problem& p, const Affine& T0, double t, int steps) {
  const double h = t / steps;
  Affine T = T0;
  auto add = [](const Affine& X, double s, const Affine& V) { return Affine{X.A - s * V.A, X.b - s * V.b}; };
  for (int k = 0; k < steps; ++k) {
    const Affine k1 = gradient(p, T);
    const Affine k2 = gradient(p, add(T, h / 2, k1));
    const Affine k3 = gradient(p, add(T, h / 2, k2));
    const Affine k4 = gradient(p, add(T, h, k3));
    T.A -= h / 6 * (k1.A + 2 * k2.A + 2 * k3.A + k4.A);
    T.b -= h / 6 * (k1.b + 2 * k2.b + 2 * k3.b + k4.b);
  }
  return T;
}

}  // namespace flowsampler::cli::reproduce::gaussian_monge
