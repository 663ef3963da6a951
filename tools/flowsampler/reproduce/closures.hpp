#pragma once
// The sections of `flowsampler reproduce closures` (seed:
// flow-matching-drifting-gaussian-closures), one file each, and the small
// cloud helpers they share. Each section records its checks on the shared
// recorder, adds its numbers under its own key of result.json and a
// paragraph to table.md.
#include <Eigen/Dense>

#include <cstddef>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "checks.hpp"
#include "common.hpp"
#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"

namespace flowsampler::cli::reproduce::closures_detail {

using Json = nlohmann::json;
using Set = ParticleSet<double>;
using Mat = Eigen::MatrixXd;
using Vec = Eigen::VectorXd;

struct Section {
  Context& ctx;
  const Options& o;
  Checks& checks;
  Json& result;
  std::ostringstream& md;
};

/// Rows of the closure table moved by gradients estimated from the particles
/// (KDE score, the OT map to a target sample, the MMD witness) against the
/// closure ODE, as n grows (closures_estimated.cpp).
void estimated_rows(Section& s);
/// The Sinkhorn row: the Sinkhorn drift T_eps[mu -> beta] - T_eps[mu -> mu]
/// on a Gaussian cloud against its closed-form affine closure (closures_sinkhorn.cpp).
void sinkhorn_row(Section& s);
/// The Gelbrich/JKO step of KL from a Gaussian is Gaussian: no affine or
/// non-affine perturbation of the Bures step lowers the JKO objective (closures_jko.cpp).
void jko_gaussian_step(Section& s);
/// Attention: a gradient field in x iff V = Q^T K, yet not a Wasserstein
/// gradient flow; the drifting field is B[beta] - B[mu] = -h^2 grad log(k*mu / k*beta)
/// (closures_fields.cpp).
void attention_claims(Section& s);
void drifting_identity(Section& s);

/// A cloud's rows as an N x d matrix on the host.
Mat host(const Set& s);
Set device(const Context& ctx, const Mat& P);
Vec mean_of(const Mat& P);
/// The covariance with 1/N (the moments the closure ODE starts from).
Mat cov_of(const Mat& P);
/// N draws of N(m, C) (C positive definite) on ctx's stream.
Mat draw_gaussian(Context& ctx, std::size_t n, const Vec& m, const Mat& C);
/// R(theta) in the (i, j) plane of R^d.
Mat plane_rotation(std::size_t d, std::size_t i, std::size_t j, double theta);

/// Mean and standard error over replicates.
struct MeanSe {
  double mean = 0, se = 0;
};
MeanSe mean_se(const std::vector<double>& v);
/// The two-sided 99% Student-t quantile with `df` degrees of freedom: the
/// tolerance factor of a mean over df + 1 replicates.
double t99(int df);

}  // namespace flowsampler::cli::reproduce::closures_detail
