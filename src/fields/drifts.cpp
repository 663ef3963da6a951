#include "flowsampler/fields/drifts.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "core/launch.hpp"
#include "fields/drift_rules.hpp"
#include "cloud/gather.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/fields/gmm_field.hpp"
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

// log(w_j / sum w) on the context, checked: one per data point, finite,
// >= 0, not all 0.
template <class Real>
ParticleSet<Real> log_weights(const Context& ctx, const std::string& name, std::size_t m, const std::vector<double>& w) {
  FLOWSAMPLER_EXPECTS(m > 0 && w.size() == m, name << ": expected " << m << " data weights, got " << w.size());
  double total = 0;
  for (std::size_t j = 0; j < w.size(); ++j) {
    FLOWSAMPLER_EXPECTS(std::isfinite(w[j]) && w[j] >= 0, name << ": data weight " << j << " is " << w[j] << "; expected >= 0");
    total += w[j];
  }
  FLOWSAMPLER_EXPECTS(total > 0, name << ": the data weights are all zero");
  std::vector<Real> lw(w.size());
  for (std::size_t j = 0; j < lw.size(); ++j) lw[j] = static_cast<Real>(std::log(w[j] / total));
  return ParticleSet<Real>::from_column_major(ctx, lw.data(), lw.size(), 1);
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
  const std::string name = to_string(kind);
  const drift_rules::DriftNeeds needs = drift_rules::drift_rule<Real>(kind).needs;
  using K = drift_rules::DriftNeeds::Kernels;
  FLOWSAMPLER_EXPECTS(!needs.data || (data && data->n() > 0), name << ": needs the data cloud (non-empty)");
  FLOWSAMPLER_EXPECTS(!needs.target || target, name << ": needs a target");
  FLOWSAMPLER_EXPECTS(std::isfinite(o.kernel.bandwidth) && o.kernel.bandwidth > 0,
                      name << ": the bandwidth must be > 0, got " << o.kernel.bandwidth);
  FLOWSAMPLER_EXPECTS(needs.kernels != K::gaussian_or_laplace || o.kernel.kind == pairwise::Kernel::gaussian ||
                          o.kernel.kind == pairwise::Kernel::laplace,
                      name << ": the kernel must be gaussian or laplace");
  FLOWSAMPLER_EXPECTS(needs.kernels != K::gaussian || o.kernel.kind == pairwise::Kernel::gaussian,
                      name << ": the kernel must be gaussian");
  if (data) {
    d_ = data->d();
    data_ = data->copy(ctx);
  }
  if (target) {
    FLOWSAMPLER_EXPECTS(!target->has_atoms(), name << ": the target needs a density (no Dirac atoms)");
    FLOWSAMPLER_EXPECTS(!data || target->dim() == d_, name << ": data and target dimensions differ");
    d_ = target->dim();
    target_score_ = std::make_shared<const GmmField>(*target);
  }
  FLOWSAMPLER_EXPECTS(std::isfinite(o.ot_eps) && o.ot_eps >= 0 && o.ot_tol > 0,
                      name << ": ot_eps must be >= 0 (0: automatic) and ot_tol > 0");
  FLOWSAMPLER_EXPECTS(d_ > 0 || (!needs.data && !needs.target), name << ": no dimension (no data, no target)");
  if (!data_weights.empty()) {
    FLOWSAMPLER_EXPECTS(needs.weights, name << ": weighted data are not supported (uniform weights)");
    log_w_ = log_weights<Real>(ctx, name, data_.n(), data_weights);
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
  const drift_rules::DriftCall<Real> call{z, beta, lw, o_, target_score_.get()};
  out.velocity = drift_rules::drift_rule<Real>(kind_).velocity(ctx, call);
  return out;
}

template class DriftField<float>;
template class DriftField<double>;
template double median_pairwise_distance<float>(const Context&, const ParticleSet<float>&);
template double median_pairwise_distance<double>(const Context&, const ParticleSet<double>&);

}  // namespace flowsampler::fields
