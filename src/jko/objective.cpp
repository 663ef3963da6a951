#include "flowsampler/jko/objective.hpp"

#include <cmath>

#include "cloud/lincomb.hpp"
#include "core/launch.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/fields/gmm_field.hpp"
#include "jko/iterate.hpp"

namespace flowsampler::jko {

namespace {
void check_weight(double w, const char* what) {
  FLOWSAMPLER_EXPECTS(std::isfinite(w) && w > 0, "objective: the weight of the " << what << " term must be > 0, got " << w);
}
}  // namespace

template <class Real>
void Objective<Real>::set_dim(std::size_t d, const char* what) {
  FLOWSAMPLER_EXPECTS(d > 0, "objective: the " << what << " term has d = 0");
  FLOWSAMPLER_EXPECTS(d_ == 0 || d_ == d, "objective: the " << what << " term has d = " << d << ", the others d = " << d_);
  d_ = d;
}

template <class Real>
Objective<Real>& Objective<Real>::add_relative_entropy(const targets::GaussianMixture& pi, double weight) {
  check_weight(weight, "relative-entropy");
  FLOWSAMPLER_EXPECTS(!pi.has_atoms(), "objective: KL(rho || pi) needs pi with a density (no Dirac atoms)");
  set_dim(pi.dim(), "relative-entropy");
  Term t{Kind::relative_entropy, weight, std::make_shared<const targets::GaussianMixture>(pi), nullptr, {}, {}, nullptr};
  t.field = std::make_shared<const fields::GmmField>(pi);
  terms_.push_back(std::move(t));
  return *this;
}

template <class Real>
Objective<Real>& Objective<Real>::add_potential(GradFn grad_v, std::size_t dim, double weight) {
  check_weight(weight, "potential");
  FLOWSAMPLER_EXPECTS(static_cast<bool>(grad_v), "objective: the potential term needs grad V");
  set_dim(dim, "potential");
  terms_.push_back(Term{Kind::potential, weight, nullptr, nullptr, std::move(grad_v), {}, nullptr});
  return *this;
}

template <class Real>
Objective<Real>& Objective<Real>::add_interaction(const pairwise::KernelSpec& kernel, double weight) {
  check_weight(weight, "interaction");
  FLOWSAMPLER_EXPECTS(std::isfinite(kernel.bandwidth) && kernel.bandwidth > 0,
                      "objective: the interaction kernel's bandwidth must be > 0, got " << kernel.bandwidth);
  terms_.push_back(Term{Kind::interaction, weight, nullptr, nullptr, {}, kernel, nullptr});
  return *this;
}

template <class Real>
Objective<Real>& Objective<Real>::add_mmd(const Context& ctx, const ParticleSet<Real>& data,
                                          const pairwise::KernelSpec& kernel, double weight) {
  check_weight(weight, "mmd");
  FLOWSAMPLER_EXPECTS(data.n() > 0, "objective: the mmd term needs a non-empty data cloud");
  FLOWSAMPLER_EXPECTS(std::isfinite(kernel.bandwidth) && kernel.bandwidth > 0,
                      "objective: the mmd kernel's bandwidth must be > 0, got " << kernel.bandwidth);
  set_dim(data.d(), "mmd");
  terms_.push_back(
      Term{Kind::mmd, weight, nullptr, nullptr, {}, kernel, std::make_shared<const ParticleSet<Real>>(data.copy(ctx))});
  return *this;
}

template <class Real>
bool Objective<Real>::needs_score() const {
  for (const Term& t : terms_)
    if (t.kind == Kind::relative_entropy) return true;
  return false;
}

template <class Real>
const targets::GaussianMixture* Objective<Real>::target() const {
  for (const Term& t : terms_)
    if (t.kind == Kind::relative_entropy) return t.pi.get();
  return nullptr;
}

template <class Real>
ScoreParams Objective<Real>::resolve(const Context& ctx, const ParticleSet<Real>& cloud) const {
  if (!needs_score()) return ScoreParams{score_.estimator, 0, 0, score_.ot_tol};
  return resolve_score(ctx, score_, cloud);
}

template <class Real>
ParticleSet<Real> Objective<Real>::gradient(const Context& ctx, const ParticleSet<Real>& cloud,
                                            const ParticleSet<Real>& at, const ScoreParams& params,
                                            const Communicator* comm) const {
  FLOWSAMPLER_EXPECTS(!terms_.empty(), "objective: no terms (F = 0)");
  FLOWSAMPLER_EXPECTS(cloud.n() > 0, "objective: the cloud is empty");
  const bool split = comm && comm->size() > 1;  // a rank may own no row
  FLOWSAMPLER_EXPECTS(at.n() > 0 || split, "objective: no evaluation points");
  FLOWSAMPLER_EXPECTS(cloud.d() == at.d(), "objective: the cloud has d = " << cloud.d() << ", the points d = " << at.d());
  FLOWSAMPLER_EXPECTS(d_ == 0 || at.d() == d_, "objective: the particles have d = " << at.d() << ", the objective d = " << d_);
  // The terms summed in double on the context's backend, rounded once.
  ParticleSet<double> g(ctx, at.n(), at.d());
  bool first = true;
  auto add = [&](double c, const ParticleSet<Real>& v) {
    FLOWSAMPLER_EXPECTS(v.n() == at.n() && v.d() == at.d(), "objective: a term returned " << v.n() << " x " << v.d() << ", expected "
                                                                                        << at.n() << " x " << at.d());
    const ParticleSet<Real> moved = v.belongs_to(ctx) ? ParticleSet<Real>() : v.copy(ctx);  // a user's grad V elsewhere
    const ParticleSet<Real>& here = v.belongs_to(ctx) ? v : moved;
    detail::for_each(ctx, g.size(), kernels::AccumulateScaled<Real>{g.data(), here.data(), c, first});
    first = false;
  };
  bool scored = false;
  double entropy_weight = 0;
  for (const Term& t : terms_) {
    switch (t.kind) {
      case Kind::relative_entropy: {
        fields::FieldRequest r;
        r.score = true;
        add(-t.weight, t.field->evaluate(ctx, paths::PathPoint{1, 0, 0, 0, 0}, at, r).score);
        entropy_weight += t.weight;
        scored = true;
        break;
      }
      case Kind::potential: add(t.weight, t.grad_v(ctx, at)); break;
      case Kind::interaction:
        add(t.weight / double(cloud.n()), pairwise::kernel_grad_sum(ctx, t.kernel, at, cloud));
        break;
      case Kind::mmd:
        add(t.weight / double(cloud.n()), pairwise::kernel_grad_sum(ctx, t.kernel, at, cloud));
        add(-t.weight / double(t.data->n()), pairwise::kernel_grad_sum(ctx, t.kernel, at, *t.data));
        break;
    }
  }
  if (scored) add(entropy_weight, score_estimate(ctx, params, cloud, at, comm));  // the entropies share one estimate
  ParticleSet<Real> out(ctx, at.n(), at.d());
  detail::for_each(ctx, out.size(), kernels::Convert<Real, double>{out.data(), g.data()});
  return out;
}

template class Objective<float>;
template class Objective<double>;

}  // namespace flowsampler::jko
