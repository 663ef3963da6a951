#pragma once
// The constrained gradient flow of KL(. | pi) on Monge maps, computed exactly
// for a Gaussian source rho = N(m1, S1) and a Gaussian target pi = N(m2, S2):
// the independent reference of `reproduce monge`.
//
// Starting from an affine map T(x) = b + A (x - m1) with A symmetric positive
// definite (the gradient of a convex quadratic), every iterate stays affine:
// T#rho = N(b, A S1 A) and the Wasserstein gradient of KL at T#rho is affine
// in y, so its L2(rho) projection onto the gradients (the tangent cone of the
// OT maps at an interior point) is the affine gradient
//   x -> c + G (x - m1),  G S1 + S1 G = S2^-1 A S1 + S1 A S2^-1 - 2 A^-1,
//   c = S2^-1 (b - m2)
// (the Lyapunov equation is sym(G S1) = dKL/dA: the Riesz representative of
// the Frobenius gradient for the metric <E, E'> = tr(E S1 E') of L2(rho)).
// The flow is dT/dt = -(c, G); the implicit (proximal) step minimises the
// strictly convex function of (A, b)
//   (1 / 2 tau) ||T - T_k||^2_L2(rho) + KL(N(b, A S1 A) | pi)
// by Newton's method on the symmetric matrices. The Monge map is
// T*(x) = m2 + A* (x - m1), A* S1 A* = S2.
#include <Eigen/Dense>

namespace flowsampler::cli::reproduce::gaussian_monge {

struct Problem {
  Eigen::VectorXd m1, m2;
  Eigen::MatrixXd S1, S2;
  /// lambda: pi is lambda-log-concave with lambda = 1 / the largest eigenvalue of S2.
  double lambda() const;
};

struct Affine {
  Eigen::MatrixXd A;  ///< symmetric positive definite
  Eigen::VectorXd b;  ///< T(m1)
};

/// KL(T#rho | pi), closed form.
double kl(const Problem& p, const Affine& T);
/// ||T - U||_L2(rho) = sqrt(|b_T - b_U|^2 + tr((A_T - A_U) S1 (A_T - A_U))).
double distance(const Problem& p, const Affine& T, const Affine& U);
/// The projected Wasserstein gradient (c, G) of KL at T (see above), as an affine map's (b, A).
Affine gradient(const Problem& p, const Affine& T);
/// The Monge map from rho to pi.
Affine monge_map(const Problem& p);
/// One implicit step T_k -> T_{k+1} with time step tau (Newton to a gradient
/// norm of 1e-12; Error if it does not get there).
Affine implicit_step(const Problem& p, const Affine& Tk, double tau);
/// The flow from T0 over time t in `steps` RK4 steps.
Affine flow(const Problem& p, const Affine& T0, double t, int steps);

}  // namespace flowsampler::cli::reproduce::gaussian_monge
