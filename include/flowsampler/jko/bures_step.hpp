#pragma once
/// \file The exact JKO step of KL(. || N(m*, S*)) on Gaussians (the
/// Bures–Wasserstein proximal step), host-side, double.
///
/// For rho = N(m, S) and step h > 0 the minimiser of
/// KL(rho+ || N(m*, S*)) + W2^2(rho+, rho) / (2h) over all laws is Gaussian,
/// rho+ = N(m+, S+), reached by the affine OT map T(x) = m+ + A (x - m):
///   B = I + h S*^-1,  m+ = B^-1 (m + h S*^-1 m*),
///   C = I/2 + (I/4 + h B^1/2 S^-1 B^1/2)^1/2,  A = B^-1/2 C B^-1/2,  S+ = A S A.
/// Derivation (first-order condition (T - id)/h + grad_W KL(rho+) o T = 0 with
/// grad_W KL(rho+)(y) = S*^-1 (y - m*) - S+^-1 (y - m+)): the constant part
/// gives B m+ = m + h S*^-1 m*, the linear part A B A - A = h S^-1; with
/// A = B^-1/2 C B^-1/2 that is C^2 - C = h B^1/2 S^-1 B^1/2, whose positive
/// definite root is C above (tests/jko check it against a numerical minimiser).
/// Matrices are d x d, symmetric, stored as d*d doubles (row- = column-major).
#include <cstddef>
#include <vector>

namespace flowsampler::jko {

/// A Gaussian N(mean, cov): d values and d*d values.
struct Gaussian {
  std::vector<double> mean;
  std::vector<double> cov;
  std::size_t dim() const { return mean.size(); }
};

struct BuresStep {
  Gaussian next;          ///< N(m+, S+)
  std::vector<double> A;  ///< the symmetric positive definite slope of T, d*d
};

/// One exact JKO step from `rho` towards `target` with step h. Error on
/// h <= 0 or non-finite, mismatched sizes, non-symmetric or non-positive
/// definite covariances (both must be invertible).
BuresStep bures_jko_step(const Gaussian& rho, const Gaussian& target, double h);

/// The sequence rho_0 = rho, rho_{k+1} = step(rho_k, h_k): steps.size() + 1 Gaussians.
std::vector<Gaussian> bures_jko_sequence(const Gaussian& rho, const Gaussian& target, const std::vector<double>& steps);

/// The seed's first-order residual eps_k (Assumption 1, eq. (29)-(30)) of a
/// step rho_k = `from` -> rho_{k+1} = `to` between Gaussian laws, for the
/// objective KL(. || target) with step h:
///   eps = || (id - T)/h + grad_W KL(rho_{k+1}) ||_{L2(rho_{k+1})},
/// T the OT map from rho_{k+1} back to rho_k (affine between Gaussians),
/// grad_W KL(rho_{k+1})(y) = S*^-1 (y - m*) - S_{k+1}^-1 (y - m_{k+1}). It is
/// zero exactly when `to` is the exact JKO step of `from`
/// (bures_jko_step), and it involves the true score of the Gaussian law,
/// not any estimator of it. The field is affine, v(y) = M (y - m_{k+1}) + c,
/// so eps^2 = tr(M S_{k+1} M^T) + |c|^2. Error on the same inputs as
/// bures_jko_step.
double bures_first_order_residual(const Gaussian& from, const Gaussian& to, const Gaussian& target, double h);

/// The symmetric positive definite slope G of the OT map x -> m_to + G (x - m_from)
/// from N(m_from, S_from) to N(m_to, S_to): G = S_from^-1/2 (S_from^1/2 S_to S_from^1/2)^1/2 S_from^-1/2,
/// the unique SPD matrix with G S_from G = S_to. d*d values.
std::vector<double> gaussian_ot_slope(const Gaussian& from, const Gaussian& to);

/// KL(N(m1, S1) || N(m2, S2)) in nats, closed form. Error on bad shapes or
/// non-positive-definite covariances.
double gaussian_kl(const Gaussian& p, const Gaussian& q);

}  // namespace flowsampler::jko
