#include "flowsampler/fields/drifts.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "core/launch.hpp"
#include "core/lincomb.hpp"
#include "fields/drifting_normalized.hpp"
#include "cloud/gather.hpp"
#include "fields/weights.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/fields/gmm_field.hpp"
#include "flowsampler/fields/score_estimates.hpp"
#include "flowsampler/solvers/sinkhorn.hpp"
#include "pairwise/engine.hpp"
#include "pairwise/shipped_ops.hpp"
#include "random/philox.hpp"

namespace flowsampler::fields {

Drift parse_drift(const std::string& name, const std::string& what) {
  return parse_name(drift_names, name, what);
}

std::string to_string(Drift f) { return name_of(drift_names, f); }

namespace {

// The median of the pairwise distances of k points (k x d, column-major, on
// the host), in double.
template <class Real>
double median_of_pairs(const std::vector<Real>& p, std::size_t k, std::size_t d) {
  std::vector<double> dist;
  dist.reserve(k * (k - 1) / 2);
  for (std::size_t a = 0; a < k; ++a)
    for (std::size_t b = a + 1; b < k; ++b) {
      double s = 0;
      for (std::size_t c = 0; c < d; ++c) s += std::pow(double(p[c * k + a]) - double(p[c * k + b]), 2);
      dist.push_back(std::sqrt(s));
    }
  std::nth_element(dist.begin(), dist.begin() + static_cast<std::ptrdiff_t>(dist.size() / 2), dist.end());
  const double med = dist[dist.size() / 2];
  FLOWSAMPLER_EXPECTS(med > 0, "median bandwidth: the median pairwise distance is 0 (collapsed cloud)");
  return med;
}

constexpr std::size_t median_points = 1000;

// Evaluation `counter` of a batched field: `b` of the m data indices drawn
// without replacement by a partial Fisher-Yates shuffle whose j-th swap
// partner is uniform on [j, m) (64 Philox bits modulo m - j: a bias below
// m / 2^64), Philox keyed by `seed` at counter (j, counter). The displaced
// entries live in a hash map: O(b) host work and memory for any m.
std::vector<std::uint64_t> draw_batch(std::uint64_t seed, std::uint64_t counter, std::size_t m, std::size_t b) {
  std::vector<std::uint64_t> idx(b);
  std::unordered_map<std::uint64_t, std::uint64_t> moved;
  moved.reserve(2 * b);
  auto at = [&](std::uint64_t p) {
    const auto it = moved.find(p);
    return it == moved.end() ? p : it->second;
  };
  for (std::size_t j = 0; j < b; ++j) {
    const kernels::Philox4 r = kernels::particle_bits(seed, j, static_cast<std::uint32_t>(counter),
                                                      static_cast<std::uint32_t>(counter >> 32));
    const std::uint64_t bits = (std::uint64_t(r.v[1]) << 32) | r.v[0];
    const std::uint64_t k = j + bits % (m - j);
    idx[j] = at(k);
    moved[k] = at(j);  // the swap: position k takes what position j held
  }
  return idx;
}

// Batch `counter` of the data's rows (and of its log-weights, when given,
// raised by log(M / b) so that the batch's total weight stays 1), gathered
// where the data live: only the b indices travel.
template <class Real>
void draw_batch_rows(const Context& ctx, const ParticleSet<Real>& data, const ParticleSet<Real>* log_w,
                     const DriftOptions& o, std::uint64_t counter, ParticleSet<Real>& rows, ParticleSet<Real>& rows_lw) {
  const std::size_t m = data.n(), b = o.batch;
  Buffer<std::uint64_t> idx(ctx, b);
  idx.copy_from_host(draw_batch(o.batch_seed, counter, m, b).data());
  rows = ParticleSet<Real>(ctx, b, data.d());
  detail::for_each(ctx, rows.size(), kernels::GatherRows<Real>{rows.data(), data.data(), idx.data(), m, b, 0.0});
  if (!log_w) return;
  rows_lw = ParticleSet<Real>(ctx, b, 1);
  const double up = std::log(double(m) / double(b));
  detail::for_each(ctx, b, kernels::GatherRows<Real>{rows_lw.data(), log_w->data(), idx.data(), m, b, up});
}

}  // namespace

template <class Real>
double median_pairwise_distance(const Context& ctx, const ParticleSet<Real>& z) {
  FLOWSAMPLER_EXPECTS(z.n() >= 2, "median bandwidth: need at least 2 particles, got " << z.n());
  FLOWSAMPLER_EXPECTS(z.belongs_to(ctx), "median bandwidth: the cloud must live in the context's memory");
  // Only the k strided points travel: k x d values, not the cloud.
  const std::size_t k = std::min(z.n(), median_points);
  return median_of_pairs(strided_rows(ctx, z, k).to_host(), k, z.d());
}

template <class Real>
DriftField<Real>::DriftField(const Context& ctx, Drift kind, const DriftOptions& o, const ParticleSet<Real>* data,
                             const std::vector<double>& data_weights, const targets::GaussianMixture* target)
    : kind_(kind), o_(o) {
  const bool needs_data =
      kind == Drift::mean_shift || kind == Drift::drifting || kind == Drift::drifting_normalized || kind == Drift::mmd ||
      kind == Drift::sinkhorn;
  FLOWSAMPLER_EXPECTS(!needs_data || (data && data->n() > 0), to_string(kind) << ": needs the data cloud (non-empty)");
  FLOWSAMPLER_EXPECTS(kind != Drift::svgd || target, "svgd: needs a target");
  FLOWSAMPLER_EXPECTS(std::isfinite(o.kernel.bandwidth) && o.kernel.bandwidth > 0,
                      to_string(kind) << ": the bandwidth must be > 0, got " << o.kernel.bandwidth);
  if (kind == Drift::mean_shift || kind == Drift::drifting)
    FLOWSAMPLER_EXPECTS(o.kernel.kind == pairwise::Kernel::gaussian || o.kernel.kind == pairwise::Kernel::laplace,
                        to_string(kind) << ": the kernel must be gaussian or laplace");
  if (kind == Drift::kde_score || kind == Drift::blob || kind == Drift::svgd)
    FLOWSAMPLER_EXPECTS(o.kernel.kind == pairwise::Kernel::gaussian, to_string(kind) << ": the kernel must be gaussian");
  if (data) {
    d_ = data->d();
    data_ = data->copy(ctx);
  }
  if (target) {
    FLOWSAMPLER_EXPECTS(!target->has_atoms(), "svgd: the target needs a density (no Dirac atoms)");
    FLOWSAMPLER_EXPECTS(!data || target->dim() == d_, "svgd: data and target dimensions differ");
    d_ = target->dim();
    target_score_ = std::make_shared<const GmmField>(*target);
  }
  FLOWSAMPLER_EXPECTS(std::isfinite(o.ot_eps) && o.ot_eps >= 0 && o.ot_tol > 0,
                      to_string(kind) << ": ot_eps must be >= 0 (0: automatic) and ot_tol > 0");
  FLOWSAMPLER_EXPECTS(d_ > 0 || kind == Drift::kde_score || kind == Drift::blob || kind == Drift::ot_score, to_string(kind) << ": no dimension (no data, no target)");
  if (!data_weights.empty()) {
    FLOWSAMPLER_EXPECTS(kind != Drift::sinkhorn && kind != Drift::drifting_normalized,
                        to_string(kind) << ": weighted data are not supported (uniform weights)");
    FLOWSAMPLER_EXPECTS(data && data_weights.size() == data->n(),
                        to_string(kind) << ": expected " << (data ? data->n() : 0) << " data weights, got " << data_weights.size());
    std::vector<Real> lw(data_weights.size());
    double total = 0;
    for (std::size_t j = 0; j < lw.size(); ++j) {
      FLOWSAMPLER_EXPECTS(std::isfinite(data_weights[j]) && data_weights[j] >= 0,
                          to_string(kind) << ": data weight " << j << " is " << data_weights[j] << "; expected >= 0");
      total += data_weights[j];
    }
    FLOWSAMPLER_EXPECTS(total > 0, to_string(kind) << ": the data weights are all zero");
    for (std::size_t j = 0; j < lw.size(); ++j) lw[j] = static_cast<Real>(std::log(data_weights[j] / total));
    log_w_ = ParticleSet<Real>::from_column_major(ctx, lw.data(), lw.size(), 1);
    weighted_ = true;
  }
}

template <class Real>
FieldValues<Real> DriftField<Real>::evaluate(const Context& ctx, double, const ParticleSet<Real>& z,
                                             const FieldRequest& what) const {
  this->require(what, to_string(kind_).c_str());
  FLOWSAMPLER_EXPECTS(d_ == 0 || z.d() == d_, to_string(kind_) << ": particles have d = " << z.d() << ", expected " << d_);
  FLOWSAMPLER_EXPECTS(z.n() > 0, to_string(kind_) << ": the cloud is empty");
  // The data of this evaluation: all of it, or a random batch of it.
  ParticleSet<Real> batch_data, batch_lw;
  const bool batched = o_.batch > 0 && data_.n() > o_.batch;
  if (batched) draw_batch_rows(ctx, data_, weighted_ ? &log_w_ : nullptr, o_, draws_++, batch_data, batch_lw);
  const ParticleSet<Real>& beta = batched ? batch_data : data_;
  const ParticleSet<Real>& beta_lw = batched ? batch_lw : log_w_;
  const ParticleSet<Real>* lw = weighted_ ? &beta_lw : nullptr;
  FieldValues<Real> out;
  const double n = double(z.n());
  switch (kind_) {
    case Drift::mean_shift: out.velocity = std::move(pairwise::mean_shift(ctx, o_.kernel, z, beta, lw).mean); break;
    case Drift::drifting: {
      auto attract = pairwise::mean_shift(ctx, o_.kernel, z, beta, lw);
      // Without the self pairs (left out exactly by the engine), a point
      // alone in its neighbourhood feels no repulsion (mean 0).
      const auto self = pairwise::mean_shift(ctx, o_.kernel, z, z, static_cast<const ParticleSet<Real>*>(nullptr), !o_.include_self);
      detail::lincomb_into(ctx, attract.mean, attract.mean, {{-1.0, &self.mean}});
      out.velocity = std::move(attract.mean);
      break;
    }
    case Drift::drifting_normalized:
      out.velocity = detail::drifting_normalized(ctx, z, beta, o_.temperatures, o_.include_self);
      break;
    case Drift::mmd: {
      // -(1/N) sum_j grad k(x, z_j) + sum_j w_j grad k(x, y_j) (w_j = 1/M unweighted).
      auto self = pairwise::kernel_grad_sum(ctx, o_.kernel, z, z);
      ParticleSet<Real> w;
      if (weighted_) {
        w = ParticleSet<Real>(ctx, beta_lw.n(), 1);
        detail::for_each(ctx, w.size(), kernels::ExpScaled<Real>{w.data(), beta_lw.data(), 1.0});
      }
      const auto other = pairwise::kernel_grad_sum(ctx, o_.kernel, z, beta, weighted_ ? &w : nullptr);
      detail::lincomb_into(ctx, self, self, {{weighted_ ? 1.0 : 1 / double(beta.n()), &other}}, -1 / n);
      out.velocity = std::move(self);
      break;
    }
    case Drift::kde_score: out.velocity = kde_score(ctx, o_.kernel.bandwidth, z, z); break;
    case Drift::blob: out.velocity = blob_score(ctx, o_.kernel.bandwidth, z, z); break;
    case Drift::svgd: {
      const double h = o_.median_bandwidth ? median_heuristic_bandwidth(ctx, z) : o_.kernel.bandwidth;
      FieldRequest sr;
      sr.score = true;
      const ParticleSet<Real> s = target_score_->evaluate(ctx, paths::PathPoint{1, 0, 0, 0, 0}, z, sr).score;
      // One pass: sum_j k(z_j, x) (s_j + (x - z_j) / h^2) with the scores as payload.
      ParticleSet<Real> phi(ctx, z.n(), z.d());
      pairwise::detail::run<kernels::Reduction::sum>(ctx, pairwise::detail::svgd_op<Real>(h), z, z, s.data(), phi.data());
      detail::lincomb_into(ctx, phi, phi, {}, 1 / n);
      out.velocity = std::move(phi);
      break;
    }
    case Drift::sinkhorn:
    case Drift::ot_score: {
      const double eps = o_.ot_eps > 0 ? o_.ot_eps : default_ot_eps(ctx, z);
      if (kind_ == Drift::ot_score) {
        out.velocity = ot_score(ctx, eps, o_.ot_tol, z, z);
      } else {
        solvers::SinkhornOptions so;
        so.tol = o_.ot_tol;
        so.debias = false;
        so.eps = eps;
        auto to_data = solvers::barycentric_projection(ctx, z, beta, solvers::sinkhorn(ctx, z, beta, so).g, eps);
        const auto to_self = solvers::barycentric_projection(ctx, z, z, solvers::sinkhorn_self_potential(ctx, z, so), eps);
        detail::lincomb_into(ctx, to_data, to_data, {{-1.0, &to_self}});
        out.velocity = std::move(to_data);
      }
      break;
    }
  }
  return out;
}

template class DriftField<float>;
template class DriftField<double>;
template double median_pairwise_distance<float>(const Context&, const ParticleSet<float>&);
template double median_pairwise_distance<double>(const Context&, const ParticleSet<double>&);

}  // namespace flowsampler::fields
