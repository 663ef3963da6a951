#pragma once
/// \file Gaussian closures: flows that keep a cloud Gaussian, as ODEs for (m, C).
///
/// An affine velocity v(x) = b + A (x - m) maps N(m, C) to a Gaussian, with
/// m' = b and C' = A C + C A^T (seed "flow-matching-drifting-gaussian-closures",
/// proof of the invariance proposition, line 88). Every closure below is the
/// descent velocity of an energy towards the standard Gaussian gamma = N(0, I)
/// evaluated on Gaussian inputs, so the whole flow is a matrix ODE.
///
/// Covariance rows (centered Gaussians). The seed text lost the table itself;
/// the rows are taken from its proof, lines 98-101 (velocity M_C x, C' = M_C C
/// + C M_C^T). The Sinkhorn row is left out: its spectral formula is not in the text.
///   kl          KL(.|gamma), Fokker-Planck velocity (C^-1 - I) x   -> C' = 2 (I - C)    [l. 98]
///   fisher      projected (1/2) Fisher information, velocity (C^-2 - I) x
///                                                                 -> C' = 2 (C^-1 - C) [l. 99]
///   w2          unhalved W2^2(., gamma), velocity 2 (C^-1/2 - I) x -> C' = 4 (C^1/2 - C) [l. 100]
///   mmd-poly    MMD^2 = ||C - I||_F^2, velocity 4 (I - C) x        -> C' = 8 (C - C^2)  [l. 100]
///   sliced-w2   v(x) = V(C) x, V(C) = E_theta 2((theta^T C theta)^-1/2 - 1) theta theta^T
///               over theta uniform on S^{d-1}               -> C' = V(C) C + C V(C) [l. 101]
///
/// Means (not in the seed's table, which is written for centered Gaussians;
/// derived here from the same energies with the mean kept, see each line):
///   kl      v = C^-1 (x - m) - x                     -> m' = -m
///   fisher  (1/2) I = (1/2)(tr(C - 2I + C^-1) + |m|^2) -> m' = -m
///   w2      v = 2 (T(x) - x), T(x) = C^-1/2 (x - m)   -> m' = -2 m
///   sliced  each projection as w2 in 1-D, averaged    -> m' = -(2/d) m
///   mmd-poly, kernel k(x, y) = (x^T y)^2 (our choice; every (c + x^T y)^2
///           gives the seed's centered row): MMD^2 = ||S - I||_F^2 with
///           S = C + m m^T, v = 4 (I - S) x -> m' = 4 (I - S) m and
///           C' = 4 ((I - S) C + C (I - S)); this couples C to m, so the
///           centered row above is the m = 0 case only.
///
/// Matrices are d x d, row-major, in std::vector<double>. Invalid input throws
/// flowsampler::Error naming the argument.
#include <cstddef>
#include <string>
#include <vector>

#include "flowsampler/core/names.hpp"

namespace flowsampler::fields {

enum class Closure { kl_standard, fisher, w2_squared, mmd_polynomial, sliced_w2 };

/// The names of Closure values: parsing, printing and the CLI's choices (core/names.hpp).
inline constexpr NameTable<Closure, 5> closure_names{{
    {Closure::kl_standard, "kl"},
    {Closure::fisher, "fisher"},
    {Closure::w2_squared, "w2"},
    {Closure::mmd_polynomial, "mmd-poly"},
    {Closure::sliced_w2, "sliced-w2"}}};

/// "kl", "fisher", "w2", "mmd-poly", "sliced-w2"; Error on anything else.
Closure parse_closure(const std::string& name, const std::string& what = "closure");
std::string to_string(Closure c);

/// A Gaussian N(mean, cov): mean has d entries, cov d x d row-major.
struct GaussianState {
  std::vector<double> mean, cov;
};

/// dC/dt of the closure's centered row (table above). C must be symmetric,
/// finite, d x d; positive definite for fisher, w2 and sliced-w2.
std::vector<double> closure_rhs(Closure c, const std::vector<double>& C, std::size_t d);

/// dm/dt for a Gaussian N(mean, C); d = mean.size().
std::vector<double> closure_mean_rhs(Closure c, const std::vector<double>& mean, const std::vector<double>& C);

/// (dm/dt, dC/dt) of the full state: (closure_mean_rhs, closure_rhs) except
/// mmd-poly with m != 0, where C' uses S = C + m m^T (see above).
GaussianState closure_state_rhs(Closure c, const GaussianState& s);

/// The velocity matrix V(C) of the sliced-W2 closure (v(x) = V(C)(x - m) - (2/d) m).
/// In the eigenbasis of C it is diagonal; each entry is a 1-D integral,
/// computed by double-exponential quadrature (about 1e-13 relative for
/// condition numbers up to 1e6, checked against angle quadrature).
std::vector<double> sliced_w2_velocity(const std::vector<double>& C, std::size_t d);

/// Classic RK4 from t = 0 to t_end (finite, >= 0) in `steps` (>= 1) equal
/// steps; returns steps + 1 states (the start first). C is symmetrized after
/// each step; Error naming the step and smallest eigenvalue when C stops
/// being positive definite (the start must be positive definite).
std::vector<GaussianState> integrate_closure(Closure c, const GaussianState& start, double t_end, int steps);

/// The W2 (Bures-Wasserstein) geodesic between Gaussians a and b at s in [0, 1]:
/// m_s = (1 - s) m_a + s m_b, C_s = ((1 - s) I + s T) C_a ((1 - s) I + s T),
/// T = C_a^-1/2 (C_a^1/2 C_b C_a^1/2)^1/2 C_a^-1/2 the Brenier map's linear
/// part (McCann interpolation of Gaussians). Error on mismatched sizes, s
/// outside [0, 1], non-symmetric or non positive-definite covariances.
GaussianState bures_geodesic(const GaussianState& a, const GaussianState& b, double s);

}  // namespace flowsampler::fields
