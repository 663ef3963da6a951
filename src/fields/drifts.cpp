#include "flowsampler/fields/drifts.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "core/lincomb.hpp"
#include "fields/drifting_normalized.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/fields/gmm_field.hpp"
#include "flowsampler/fields/score_estimates.hpp"
#include "flowsampler/metrics/moments.hpp"
#include "flowsampler/metrics/sinkhorn.hpp"

namespace flowsampler::fields {

Drift parse_drift(const std::string& name, const std::string& what) {
  if (name == "mean-shift") return Drift::mean_shift;
  if (name == "drifting") return Drift::drifting;
  if (name == "drifting-normalized") return Drift::drifting_normalized;
  if (name == "blob") return Drift::blob;
  if (name == "mmd") return Drift::mmd;
  if (name == "kde-score") return Drift::kde_score;
  if (name == "svgd") return Drift::svgd;
  if (name == "sinkhorn") return Drift::sinkhorn;
  if (name == "ot-score") return Drift::ot_score;
  FLOWSAMPLER_EXPECTS(false, what << ": expected mean-shift, drifting, drifting-normalized, mmd, kde-score, blob, svgd, sinkhorn or ot-score, got '"
                                  << name << "'");
}

std::string to_string(Drift f) {
  switch (f) {
    case Drift::mean_shift: return "mean-shift";
    case Drift::drifting: return "drifting";
    case Drift::drifting_normalized: return "drifting-normalized";
    case Drift::blob: return "blob";
    case Drift::mmd: return "mmd";
    case Drift::kde_score: return "kde-score";
    case Drift::svgd: return "svgd";
    case Drift::sinkhorn: return "sinkhorn";
    case Drift::ot_score: return "ot-score";
  }
  return "?";
}


template <class Real>
double median_pairwise_distance(const ParticleSet<Real>& z) {
  FLOWSAMPLER_EXPECTS(z.n() >= 2, "median bandwidth: need at least 2 particles, got " << z.n());
  const std::vector<Real> h = z.to_host();
  const std::size_t n = z.n(), d = z.d(), k = std::min<std::size_t>(n, 1000);
  std::vector<double> dist;
  dist.reserve(k * (k - 1) / 2);
  for (std::size_t a = 0; a < k; ++a)
    for (std::size_t b = a + 1; b < k; ++b) {
      const std::size_t i = a * n / k, j = b * n / k;
      double s = 0;
      for (std::size_t c = 0; c < d; ++c) s += std::pow(double(h[c * n + i]) - double(h[c * n + j]), 2);
      dist.push_back(std::sqrt(s));
    }
  std::nth_element(dist.begin(), dist.begin() + static_cast<std::ptrdiff_t>(dist.size() / 2), dist.end());
  const double med = dist[dist.size() / 2];
  FLOWSAMPLER_EXPECTS(med > 0, "median bandwidth: the median pairwise distance is 0 (collapsed cloud)");
  return med;
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
  if (batched) {
    std::mt19937_64 rng(o_.batch_seed * 0x9e3779b97f4a7c15ull + draws_++);
    std::vector<std::size_t> idx(data_.n());
    for (std::size_t j = 0; j < idx.size(); ++j) idx[j] = j;
    for (std::size_t j = 0; j < o_.batch; ++j)  // partial Fisher-Yates: the first `batch` entries
      std::swap(idx[j], idx[j + std::uniform_int_distribution<std::size_t>(0, idx.size() - 1 - j)(rng)]);
    const std::vector<Real> dh = data_.to_host();
    const std::vector<Real> wh = weighted_ ? log_w_.to_host() : std::vector<Real>();
    std::vector<Real> bd(o_.batch * d_), bw(weighted_ ? o_.batch : 0);
    const double up = std::log(double(data_.n()) / double(o_.batch));  // keeps the batch's total weight at 1
    for (std::size_t j = 0; j < o_.batch; ++j) {
      for (std::size_t c = 0; c < d_; ++c) bd[c * o_.batch + j] = dh[c * data_.n() + idx[j]];
      if (weighted_) bw[j] = static_cast<Real>(double(wh[idx[j]]) + up);
    }
    batch_data = ParticleSet<Real>::from_column_major(ctx, bd.data(), o_.batch, d_);
    if (weighted_) batch_lw = ParticleSet<Real>::from_column_major(ctx, bw.data(), o_.batch, 1);
  }
  const ParticleSet<Real>& beta = batched ? batch_data : data_;
  const ParticleSet<Real>& beta_lw = batched ? batch_lw : log_w_;
  const ParticleSet<Real>* lw = weighted_ ? &beta_lw : nullptr;
  FieldValues<Real> out;
  const double n = double(z.n());
  switch (kind_) {
    case Drift::mean_shift: out.velocity = std::move(pairwise::mean_shift(ctx, o_.kernel, z, beta, lw).mean); break;
    case Drift::drifting: {
      const auto attract = pairwise::mean_shift(ctx, o_.kernel, z, beta, lw);
      // Without the self pairs (left out exactly by the engine), a point
      // alone in its neighbourhood feels no repulsion (mean 0).
      const auto self = pairwise::mean_shift(ctx, o_.kernel, z, z, static_cast<const ParticleSet<Real>*>(nullptr), !o_.include_self);
      out.velocity = detail::lincomb(ctx, attract.mean, {{-1.0, &self.mean}});
      break;
    }
    case Drift::drifting_normalized:
      out.velocity = detail::drifting_normalized(ctx, z, beta, o_.temperatures, o_.include_self);
      break;
    case Drift::mmd: {
      // -(1/N) sum_j grad k(x, z_j) + sum_j w_j grad k(x, y_j) (w_j = 1/M unweighted).
      const auto self = pairwise::kernel_grad_sum(ctx, o_.kernel, z, z);
      ParticleSet<Real> w;
      if (weighted_) {
        std::vector<Real> wh = beta_lw.to_host();
        for (Real& v : wh) v = static_cast<Real>(std::exp(double(v)));
        w = ParticleSet<Real>::from_column_major(ctx, wh.data(), wh.size(), 1);
      }
      const auto other = pairwise::kernel_grad_sum(ctx, o_.kernel, z, beta, weighted_ ? &w : nullptr);
      out.velocity = detail::lincomb(ctx, self, {{weighted_ ? 1.0 : 1 / double(beta.n()), &other}}, -1 / n);
      break;
    }
    case Drift::kde_score: out.velocity = kde_score(ctx, o_.kernel.bandwidth, z, z); break;
    case Drift::blob: out.velocity = blob_score(ctx, o_.kernel.bandwidth, z, z); break;
    case Drift::svgd: {
      pairwise::KernelSpec k = o_.kernel;
      if (o_.median_bandwidth) k.bandwidth = median_heuristic_bandwidth(z);
      FieldRequest sr;
      sr.score = true;
      const std::vector<Real> s = target_score_->evaluate(ctx, paths::PathPoint{1, 0, 0, 0, 0}, z, sr).score.to_host();
      std::vector<Real> phi = pairwise::kernel_grad_sum(ctx, k, z, z).to_host();
      for (Real& v : phi) v = static_cast<Real>(-double(v));  // sum_j grad_{z_j} k(z_j, x) = -sum_j grad_x k(x, z_j)
      for (std::size_t c = 0; c < z.d(); ++c) {
        const ParticleSet<Real> sc = ParticleSet<Real>::from_column_major(ctx, s.data() + c * z.n(), z.n(), 1);
        const std::vector<Real> drive = pairwise::kernel_sum(ctx, k, z, z, &sc).to_host();
        for (std::size_t i = 0; i < z.n(); ++i) phi[c * z.n() + i] += drive[i];
      }
      for (Real& v : phi) v = static_cast<Real>(double(v) / n);
      out.velocity = ParticleSet<Real>::from_column_major(ctx, phi.data(), z.n(), z.d());
      break;
    }
    case Drift::sinkhorn:
    case Drift::ot_score: {
      const double eps = o_.ot_eps > 0 ? o_.ot_eps : default_ot_eps(z);
      if (kind_ == Drift::ot_score) {
        out.velocity = ot_score(ctx, eps, o_.ot_tol, z, z);
      } else {
        metrics::SinkhornOptions so;
        so.tol = o_.ot_tol;
        so.debias = false;
        so.eps = eps;
        const auto to_data = metrics::barycentric_projection(ctx, z, beta, metrics::sinkhorn(ctx, z, beta, so).g, eps);
        const auto to_self = metrics::barycentric_projection(ctx, z, z, metrics::sinkhorn_self_potential(ctx, z, so), eps);
        out.velocity = detail::lincomb(ctx, to_data, {{-1.0, &to_self}});
      }
      break;
    }
  }
  return out;
}

template class DriftField<float>;
template class DriftField<double>;
template double median_pairwise_distance<float>(const ParticleSet<float>&);
template double median_pairwise_distance<double>(const ParticleSet<double>&);

}  // namespace flowsampler::fields
