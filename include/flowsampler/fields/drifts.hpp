#pragma once
/// \file Kernel drift fields between particle clouds, on the pairwise engine
/// (N x M interactions, O(N + M) memory). Each is a Field<Real>, so the
/// integrators move a cloud with it; "the cloud" mu_t is the set being
/// evaluated (evaluate(ctx, t, z) uses z both as the points and as mu_t).
///
///   mean_shift  B_h[beta](x) = sum_j w_j k(x, y_j) (y_j - x) / sum_j w_j k(x, y_j)
///   drifting    V = B_h[beta](x) - B_h[mu_t](x), the one-sided form of
///               'Generative Modeling via Drifting' (Deng et al. 2026) with the
///               Laplace kernel k = exp(-|x - y| / h) (distance, not squared)
///               by default; the self term leaves out j = i unless include_self
///   mmd         -grad_x (mean_j k(x, z_j) - mean_j k(x, y_j)): the MMD^2
///               gradient flow (energy kernel: the energy-distance flow)
///   drifting_normalized  the drifting field as the paper's public code computes
///               it: distances divided by their mean s, for each temperature tau
///               the logits -|x - t| / (s tau) over the targets t (the data and
///               the other generated points), weights doubly normalized
///               A = sqrt(softmax over targets x softmax over generated points),
///               V_tau(x_i) = sum_{j,k} A_ij A_ik (y_j - x_k) (data j, cloud k),
///               divided by its per-coordinate RMS over the cloud, summed over
///               the temperatures (default 0.02, 0.05, 0.2). Scale-free: the
///               bandwidth is not used. The self pairs are left out exactly
///               (masked in the engine, as the public code masks its diagonal).
///               A temperature whose attraction and repulsion cancel to
///               rounding (RMS below 1e3 eps_machine of their parts: the cloud
///               is the data) contributes zero instead of normalized noise.
///   kde_score   grad log (k_h * mu_t)(x) = B_h[mu_t](x) / h^2 (Gaussian kernel)
///   blob        grad (delta F / delta rho) of the blob entropy F(rho) =
///               int rho log(k_h * rho) (Carrillo, Craig & Patacchini 2019):
///               grad log (k_h * mu_t)(x) + (1/N) sum_j grad_x k(x, x_j) / (k_h * mu_t)(x_j)
///               with (k_h * mu_t)(y) = (1/N) sum_l k(y, x_l): both terms; a
///               score estimate whose particle flow is the
///               gradient flow of a regularized entropy
///   svgd        phi(x) = mean_j [k(z_j, x) s(z_j) + grad_{z_j} k(z_j, x)] for a
///               Gaussian-mixture target with exact scores s (Liu & Wang 2016),
///               one pairwise pass: k(z_j, x) (s_j + (x - z_j) / h^2)
///   sinkhorn    T_eps[mu_t -> beta](x) - T_eps[mu_t -> mu_t](x): barycentric
///               projections of the entropic plans (cost |x - y|^2) to the data
///               and of the symmetric self-plan (the self-transport term)
///   ot_score    (2 / eps) (T_eps(x) - x), T_eps the barycentric projection of
///               the symmetric self-plan for the cost |x - y|^2 / 2: the
///               self-entropic-OT estimate of the score of mu_t
///
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "flowsampler/fields/field.hpp"
#include "flowsampler/fields/gmm_field.hpp"
#include "flowsampler/pairwise/pairwise.hpp"
#include "flowsampler/targets/gaussian_mixture.hpp"
#include "flowsampler/core/names.hpp"

namespace flowsampler::fields {

enum class Drift { mean_shift, drifting, drifting_normalized, mmd, kde_score, blob, svgd, sinkhorn, ot_score };

/// The names of Drift values: parsing, printing and the CLI's choices (core/names.hpp).
inline constexpr NameTable<Drift, 9> drift_names{{
    {Drift::mean_shift, "mean-shift"},
    {Drift::drifting, "drifting"},
    {Drift::drifting_normalized, "drifting-normalized"},
    {Drift::mmd, "mmd"},
    {Drift::kde_score, "kde-score"},
    {Drift::blob, "blob"},
    {Drift::svgd, "svgd"},
    {Drift::sinkhorn, "sinkhorn"},
    {Drift::ot_score, "ot-score"}}};

/// "mean-shift", "drifting", "drifting-normalized", "mmd", "kde-score", "blob", "svgd", "sinkhorn",
/// "ot-score"; Error naming `what` otherwise.
Drift parse_drift(const std::string& name, const std::string& what = "field");
std::string to_string(Drift f);

struct DriftOptions {
  pairwise::KernelSpec kernel{pairwise::Kernel::gaussian, 1.0};  ///< mean-shift/drifting: gaussian or laplace
  bool include_self = false;   ///< drifting(-normalized): keep j = i in the self term B_h[mu_t]
  std::vector<double> temperatures{0.02, 0.05, 0.2};  ///< drifting-normalized: the temperatures summed
  bool median_bandwidth = false;  ///< svgd: h = median pairwise distance / sqrt(2 log(N + 1)), per call
  /// sinkhorn, ot_score: the entropic regularization; 0 = 0.05 x the median
  /// squared pairwise distance of the cloud, per call.
  double ot_eps = 0;
  double ot_tol = 1e-4;  ///< sinkhorn, ot_score: marginal tolerance of the inner Sinkhorn solves
  /// Random batch: when > 0 and below M, each evaluation uses this many data
  /// points drawn without replacement: O(N M') work per step for very large
  /// data clouds. The k-th batched evaluation of a field (k = 0, 1, ...
  /// counted by the field over its lifetime; every integrator stage is an
  /// evaluation) draws its batch from Philox keyed by batch_seed at counter
  /// k: the same seed gives the same batches on every backend, and a fresh
  /// field starts the sequence again. Only the batch's indices travel to a
  /// device (8 bytes each); its rows are gathered there.
  std::size_t batch = 0;
  std::uint64_t batch_seed = 0;
};

template <class Real>
class DriftField final : public Field<Real> {
 public:
  /// `data` (beta, M x d, with optional weights w_j >= 0, M values) for
  /// mean_shift, drifting, drifting_normalized (unweighted) and mmd; `target`
  /// for svgd; kde_score, blob and ot_score need neither.
  DriftField(const Context& ctx, Drift kind, const DriftOptions& options, const ParticleSet<Real>* data,
             const std::vector<double>& data_weights = {}, const targets::GaussianMixture* target = nullptr);
  std::size_t dim() const override { return d_; }
  FieldValues<Real> evaluate(const Context& ctx, double t, const ParticleSet<Real>& z,
                             const FieldRequest& what) const override;
  Drift kind() const { return kind_; }

 private:
  Drift kind_;
  DriftOptions o_;
  std::size_t d_ = 0;
  ParticleSet<Real> data_, log_w_;
  bool weighted_ = false;
  std::shared_ptr<const GmmField> target_score_;  // svgd: the target, factored once
  mutable std::uint64_t draws_ = 0;  // batches drawn so far: the counter of the batch stream
};

/// The median pairwise distance of (up to 1000 strided points of) z, which
/// lives in ctx's memory: the points are gathered where z lives and only
/// they (at most 1000 x d values) travel to the host. Error for N < 2 or a
/// median of 0.
template <class Real>
double median_pairwise_distance(const Context& ctx, const ParticleSet<Real>& z);

/// The median-heuristic bandwidth of SVGD: median_pairwise_distance(z) over
/// sqrt(2 log(N + 1)), for k = exp(-r^2 / (2 h^2)).
template <class Real>
double median_heuristic_bandwidth(const Context& ctx, const ParticleSet<Real>& z) {
  return median_pairwise_distance(ctx, z) / std::sqrt(2 * std::log(double(z.n()) + 1));
}

}  // namespace flowsampler::fields
