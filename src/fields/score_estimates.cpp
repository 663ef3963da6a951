#include "flowsampler/fields/score_estimates.hpp"

#include <cmath>
#include <vector>

#include "core/launch.hpp"
#include "core/lincomb.hpp"
#include "core/rank_rows.hpp"
#include "fields/weights.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/fields/drifts.hpp"
#include "flowsampler/solvers/sinkhorn.hpp"
#include "flowsampler/pairwise/pairwise.hpp"

namespace flowsampler::fields {

namespace {

bool split(const Communicator* comm) { return comm && comm->size() > 1; }

// Split over ranks, a rank may own no row of the cloud: no points to evaluate at.
template <class Real>
void expect_points(const char* what, const ParticleSet<Real>& cloud, const ParticleSet<Real>& at, bool rank_part = false) {
  FLOWSAMPLER_EXPECTS(cloud.n() > 0, what << ": the cloud is empty");
  FLOWSAMPLER_EXPECTS(at.n() > 0 || rank_part, what << ": no evaluation points");
  FLOWSAMPLER_EXPECTS(cloud.d() == at.d(), what << ": the cloud has d = " << cloud.d() << ", the points d = " << at.d());
}

// What the estimate divides by (the kernel's 2 h^2 and the score's h^2, or
// eps) must have a finite inverse in Real: below that the score turns into NaN.
template <class Real>
void expect_invertible(const char* what, const char* name, double value, double divisor, const char* inverse) {
  FLOWSAMPLER_EXPECTS(std::isfinite(static_cast<Real>(1 / divisor)),
                      what << ": " << name << " " << value << " is too small to compute with (" << inverse
                           << " overflows in " << (sizeof(Real) == 4 ? "float" : "double") << ")");
}

template <class Real>
void expect_bandwidth(const char* what, double h) {
  FLOWSAMPLER_EXPECTS(std::isfinite(h) && h > 0, what << ": the bandwidth must be > 0, got " << h);
  expect_invertible<Real>(what, "the bandwidth", h, h * h, "1 / h^2");
}

}  // namespace

template <class Real>
ParticleSet<Real> kde_score(const Context& ctx, double h, const ParticleSet<Real>& cloud, const ParticleSet<Real>& at) {
  expect_points("kde score", cloud, at);
  expect_bandwidth<Real>("kde score", h);
  ParticleSet<Real> score = std::move(pairwise::mean_shift(ctx, {pairwise::Kernel::gaussian, h}, at, cloud).mean);
  detail::lincomb_into(ctx, score, score, {}, 1 / (h * h));
  return score;
}

template <class Real>
ParticleSet<Real> blob_score(const Context& ctx, double h, const ParticleSet<Real>& cloud, const ParticleSet<Real>& at,
                             const Communicator* comm) {
  expect_points("blob score", cloud, at, split(comm));
  expect_bandwidth<Real>("blob score", h);
  if (split(comm)) {
    const Shard s = comm->shard(cloud.n());
    FLOWSAMPLER_EXPECTS(at.n() == s.count && at.d() == cloud.d(),
                        "blob score: split over ranks, `at` must be this rank's " << s.count << " rows of the cloud, got " << at.n());
  }
  const pairwise::KernelSpec k{pairwise::Kernel::gaussian, h};
  const auto shift = pairwise::mean_shift(ctx, k, at, cloud);
  // Weights 1 / sum_l k(x_j, x_l): at the cloud itself, exp(-lse) of the
  // shift just taken (split over ranks, the ranks' lse in row order);
  // elsewhere one more pass of the cloud against itself.
  ParticleSet<Real> cloud_lse;
  if (split(comm)) {
    cloud_lse = detail::all_gather_rows(ctx, *comm, shift.lse);
  } else if (&at != &cloud) {
    cloud_lse = pairwise::mean_shift(ctx, k, cloud, cloud).lse;
  }
  const ParticleSet<Real>& lse = split(comm) || &at != &cloud ? cloud_lse : shift.lse;
  ParticleSet<Real> w(ctx, lse.n(), 1);
  detail::for_each(ctx, w.size(), kernels::ExpScaled<Real>{w.data(), lse.data(), -1.0});
  auto spread = pairwise::kernel_grad_sum(ctx, k, at, cloud, &w);
  detail::lincomb_into(ctx, spread, shift.mean, {{1.0, &spread}}, 1 / (h * h));
  return spread;
}

template <class Real>
ParticleSet<Real> ot_score(const Context& ctx, double eps, double tol, const ParticleSet<Real>& cloud,
                           const ParticleSet<Real>& at, const Communicator* comm) {
  expect_points("ot score", cloud, at, split(comm));
  FLOWSAMPLER_EXPECTS(std::isfinite(eps) && eps > 0, "ot score: eps must be > 0, got " << eps);
  expect_invertible<Real>("ot score", "eps", eps, eps, "1 / eps");
  solvers::SinkhornOptions so;
  so.tol = tol;
  so.debias = false;
  so.eps = 2 * eps;  // cost |x - y|^2 / 2 with eps is cost |x - y|^2 with 2 eps: the same plan
  so.comm = comm;
  auto score = solvers::barycentric_projection(ctx, at, cloud, solvers::sinkhorn_self_potential(ctx, cloud, so), so.eps);
  detail::lincomb_into(ctx, score, score, {{-1.0, &at}});  // T - y first: it cancels
  detail::lincomb_into(ctx, score, score, {}, 2 / eps);
  return score;
}

template <class Real>
double default_ot_eps(const Context& ctx, const ParticleSet<Real>& cloud) {
  const double med = median_pairwise_distance(ctx, cloud);
  return 0.05 * med * med;
}

#define FLOWSAMPLER_SCORE_ESTIMATES(Real)                                                                            \
  template ParticleSet<Real> kde_score(const Context&, double, const ParticleSet<Real>&, const ParticleSet<Real>&);  \
  template ParticleSet<Real> blob_score(const Context&, double, const ParticleSet<Real>&, const ParticleSet<Real>&, \
                                        const Communicator*);                                                        \
  template ParticleSet<Real> ot_score(const Context&, double, double, const ParticleSet<Real>&,                      \
                                      const ParticleSet<Real>&, const Communicator*);                               \
  template double default_ot_eps(const Context&, const ParticleSet<Real>&);
FLOWSAMPLER_SCORE_ESTIMATES(float)
FLOWSAMPLER_SCORE_ESTIMATES(double)
#undef FLOWSAMPLER_SCORE_ESTIMATES

}  // namespace flowsampler::fields
