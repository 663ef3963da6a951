#include "flowsampler/solvers/sinkhorn.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "core/launch.hpp"
#include "core/lincomb.hpp"
#include "core/rank_rows.hpp"
#include "core/spatial_order.hpp"
#include "flowsampler/core/error.hpp"
#include "core/column_sums.hpp"
#include "flowsampler/pairwise/pairwise.hpp"
#include "metrics/sinkhorn.hpp"

namespace flowsampler::solvers {

// Everything of size N or M stays in the context's memory: the potentials
// (double columns), the soft-min's log-weights and results (Real columns), the
// centred clouds. The host sees the bounding box and mean (d values each),
// one marginal error per iteration at the final eps, and the final sums.
namespace {

// The c-transform of h (on the points `to`) onto the points `from`:
// T(h)_i = -eps log sum_j w_j exp((h_j - C_ij) / eps) = -eps lse_i, kept as the
// soft-min's lse. `lw` (M x 1) is scratch; it is left holding h's log-weights.
template <class Real>
ParticleSet<Real> c_transform(const Context& ctx, const ParticleSet<Real>& from, const ParticleSet<Real>& to,
                              const ParticleSet<double>& h, double eps, ParticleSet<Real>& lw) {
  const double log_w = -std::log(static_cast<double>(to.n()));
  detail::for_each(ctx, to.n(), kernels::SinkhornLogWeights<Real>{lw.data(), h.data(), log_w, eps});
  return pairwise::softmin_lse(ctx, eps, from, to, lw);
}

// p <- (1 - w) p + w T, T = -eps lse the fresh c-transform.
template <class Real>
void relax(const Context& ctx, ParticleSet<double>& p, const ParticleSet<Real>& lse, double eps, double w) {
  detail::for_each(ctx, p.n(), kernels::SinkhornRelax<Real>{p.data(), lse.data(), eps, w});
}

// The sum over rows of |P 1 - a| (times N) for potentials p whose fresh
// c-transform is -eps lse: one scalar read.
template <class Real>
double marginal_error_sum(const Context& ctx, const ParticleSet<double>& p, const ParticleSet<Real>& lse, double eps) {
  return detail::reduce(ctx, p.n(), 1, kernels::SinkhornMarginalError<Real>{p.data(), lse.data(), eps})[0];
}

// p <- (1 - w) p + w T on this rank's rows of p (the whole potential, the same
// on every rank), then the ranks' rows exchanged: p is whole again everywhere.
template <class Real>
void relax_rows(const Context& ctx, ParticleSet<double>& p, const detail::RankRows<Real>& rows, const ParticleSet<Real>& lse,
                double eps, double w) {
  if (!rows.comm) return relax(ctx, p, lse, eps, w);
  ParticleSet<double> mine = shard_rows(ctx, p, rows.shard);
  relax(ctx, mine, lse, eps, w);
  const std::vector<double> all = rows.comm->all_gather(mine.to_host());
  p = ParticleSet<double>::from_column_major(ctx, all.data(), all.size(), 1);
}

// |P 1 - a|_1 over every rank's rows; p whole, lse the transform on this rank's rows.
template <class Real>
double marginal_error(const Context& ctx, const ParticleSet<double>& p, const detail::RankRows<Real>& rows,
                      const ParticleSet<Real>& lse, double eps) {
  const double partial = rows.comm ? marginal_error_sum(ctx, shard_rows(ctx, p, rows.shard), lse, eps)
                                   : marginal_error_sum(ctx, p, lse, eps);
  return rows.total(partial) / static_cast<double>(p.n());
}

ParticleSet<double> zeros(const Context& ctx, std::size_t n) {
  ParticleSet<double> p(ctx, n, 1);
  detail::for_each(ctx, n, kernels::Fill<double>{p.data(), 0.0});
  return p;
}

double average(const Context& ctx, const ParticleSet<double>& p) { return detail::column_means(ctx, p)[0]; }

// Per column [lo, hi] of a cloud (one max reduction per 16 columns); Error
// naming `what` on a non-finite coordinate.
struct Box {
  std::vector<double> lo, hi;
};

template <class Real>
Box bounding_box(const Context& ctx, const ParticleSet<Real>& x, const char* what) {
  constexpr std::size_t columns = detail::reduce_max_width / 2;
  Box b;
  for (std::size_t c0 = 0; c0 < x.d(); c0 += columns) {
    const int w = static_cast<int>(std::min(columns, x.d() - c0));
    const std::vector<double> m = detail::reduce(ctx, x.n(), 2 * w, kernels::BoundingBox<Real>{x.data(), x.n(), c0, w});
    for (int k = 0; k < w; ++k) {
      FLOWSAMPLER_EXPECTS(std::isfinite(m[2 * k]) && std::isfinite(m[2 * k + 1]), what << " has a non-finite coordinate");
      b.hi.push_back(m[2 * k]);
      b.lo.push_back(-m[2 * k + 1]);
    }
  }
  return b;
}

// Squared diameter of the bounding box of both clouds.
double squared_diameter(const Box& a, const Box& b) {
  double s = 0;
  for (std::size_t k = 0; k < a.lo.size(); ++k) {
    const double lo = std::min(a.lo[k], b.lo[k]), hi = std::max(a.hi[k], b.hi[k]);
    s += (hi - lo) * (hi - lo);
  }
  return s;
}

struct Schedule {
  std::vector<double> eps;  // decreasing, ending at the target
};

Schedule eps_schedule(double diameter2, const SinkhornOptions& o) {
  Schedule s;
  for (double e = std::max(diameter2, o.eps); e > o.eps; e *= o.scaling) s.eps.push_back(e);
  s.eps.push_back(o.eps);
  return s;
}

// x minus `centre` (d values), on the device.
template <class Real>
ParticleSet<Real> shifted(const Context& ctx, const ParticleSet<Real>& x, const Buffer<double>& centre) {
  ParticleSet<Real> out(ctx, x.n(), x.d());
  detail::for_each(ctx, x.size(), kernels::ShiftColumns<Real>{out.data(), x.data(), x.n(), centre.data()});
  return out;
}

// The cost is translation invariant: centre on x's mean so that float
// coordinates keep their digits for the distances.
template <class Real>
Buffer<double> centre_of(const Context& ctx, const ParticleSet<Real>& x) {
  const std::vector<double> c = detail::column_means(ctx, x);
  Buffer<double> out(ctx, c.size());
  out.copy_from_host(c.data());
  return out;
}

// OT_eps(a, a): the symmetric fixed point p = T(p), averaged updates
// p <- (p + T(p)) / 2 (they converge where plain ones oscillate); OT = 2 <a, p>.
template <class Real>
ParticleSet<double> symmetric_potential(const Context& ctx, const ParticleSet<Real>& x, const Schedule& s,
                                        const SinkhornOptions& o) {
  ParticleSet<double> p = zeros(ctx, x.n());
  ParticleSet<Real> lw(ctx, x.n(), 1);
  const detail::RankRows<Real> rows(ctx, x, o.comm);
  for (std::size_t k = 0; k < s.eps.size(); ++k) {
    const bool last = k + 1 == s.eps.size();
    for (int it = 0; it < (last ? o.max_iter : 1); ++it) {
      const auto t = c_transform(ctx, rows.mine(), x, p, s.eps[k], lw);
      // The error is only read at the final eps: one scalar read per iteration there.
      const double err = last ? marginal_error(ctx, p, rows, t, s.eps[k]) : 0.0;
      relax_rows(ctx, p, rows, t, s.eps[k], 0.5);
      if (last && err < o.tol) return p;
    }
  }
  FLOWSAMPLER_EXPECTS(false, "sinkhorn: the symmetric problem did not converge in " << o.max_iter
                                                                                     << " iterations at eps = " << o.eps
                                                                                     << "; raise max_iter or tol");
}

template <class Real>
void expect_on(const Context& ctx, const ParticleSet<Real>& x, const char* what) {
  FLOWSAMPLER_EXPECTS(x.belongs_to(ctx), what << " must live in the memory of the " << to_string(ctx.backend()) << " context");
}

}  // namespace

template <class Real>
SinkhornResult sinkhorn(const Context& ctx, const ParticleSet<Real>& x_in, const ParticleSet<Real>& y_in,
                        const SinkhornOptions& o) {
  FLOWSAMPLER_EXPECTS(x_in.d() == y_in.d(), "sinkhorn: x has d = " << x_in.d() << ", y has d = " << y_in.d());
  FLOWSAMPLER_EXPECTS(x_in.n() > 0 && y_in.n() > 0, "sinkhorn: empty set (N = " << x_in.n() << ", M = " << y_in.n() << ")");
  FLOWSAMPLER_EXPECTS(std::isfinite(o.eps) && o.eps > 0, "sinkhorn: eps must be finite and > 0, got " << o.eps);
  FLOWSAMPLER_EXPECTS(o.scaling > 0 && o.scaling < 1, "sinkhorn: scaling must be in (0, 1), got " << o.scaling);
  FLOWSAMPLER_EXPECTS(o.tol > 0 && o.max_iter >= 1, "sinkhorn: need tol > 0 and max_iter >= 1");
  FLOWSAMPLER_EXPECTS(o.relaxation >= 1 && o.relaxation < 2, "sinkhorn: relaxation must be in [1, 2), got " << o.relaxation);
  expect_on(ctx, x_in, "sinkhorn: x");
  expect_on(ctx, y_in, "sinkhorn: y");
  const std::size_t n = x_in.n(), m = y_in.n();
  const Box box_x = bounding_box(ctx, x_in, "sinkhorn: x"), box_y = bounding_box(ctx, y_in, "sinkhorn: y");
  const Buffer<double> centre = centre_of(ctx, x_in);
  // The solve runs on the clouds in Hilbert order, where the soft-mins skip
  // far tiles (at small eps most of them); f and g go back to the caller's order at the end.
  const detail::SpatialOrder order_x = detail::spatial_order(ctx, x_in, box_x.lo, box_x.hi),
                             order_y = detail::spatial_order(ctx, y_in, box_y.lo, box_y.hi);
  const ParticleSet<Real> x = detail::in_order(ctx, order_x, shifted(ctx, x_in, centre)),
                          y = detail::in_order(ctx, order_y, shifted(ctx, y_in, centre));
  const Schedule s = eps_schedule(squared_diameter(box_x, box_y), o);
  SinkhornResult r;
  r.stages = static_cast<int>(s.eps.size());
  r.f = zeros(ctx, n);
  r.g = zeros(ctx, m);
  ParticleSet<Real> lw_x(ctx, n, 1), lw_y(ctx, m, 1);  // log-weights of the soft-mins over x and over y
  ParticleSet<Real> tf;  // the latest transform of g onto (this rank's rows of) x
  const detail::RankRows<Real> rows_x(ctx, x, o.comm), rows_y(ctx, y, o.comm);
  bool converged = false;
  double w = o.relaxation, best_error = std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; k < s.eps.size() && !converged; ++k) {
    const double eps = s.eps[k];
    const bool last = k + 1 == s.eps.size();
    tf = c_transform(ctx, rows_x.mine(), y, r.g, eps, lw_y);
    for (int it = 0; it < (last ? o.max_iter : 1); ++it) {
      const double wk = last ? w : 1.0;
      relax_rows(ctx, r.f, rows_x, tf, eps, wk);
      relax_rows(ctx, r.g, rows_y, c_transform(ctx, rows_y.mine(), x, r.f, eps, lw_x), eps, wk);
      tf = c_transform(ctx, rows_x.mine(), y, r.g, eps, lw_y);  // the next f, and the row marginals of (f, g)
      if (last) {
        ++r.iterations;
        r.marginal_error = marginal_error(ctx, r.f, rows_x, tf, eps);
        if (r.marginal_error < o.tol) {
          converged = true;
          break;
        }
        // Over-relaxation is only locally convergent: should the error grow
        // well past its best, fall back to plain (monotone) Sinkhorn updates.
        best_error = std::min(best_error, r.marginal_error);
        if (r.marginal_error > 4 * best_error) w = 1.0;
      }
    }
  }
  FLOWSAMPLER_EXPECTS(converged, "sinkhorn: not converged in " << o.max_iter << " iterations at eps = " << o.eps
                                                               << " (marginal error " << r.marginal_error
                                                               << "); raise max_iter or tol, or a larger eps");
  // <P, C> = sum_i a_i exp((f_i - T(g)_i) / eps) * (mean cost of row i): one
  // more pass, the only one with the mean cost (lw_y holds g's log-weights).
  const pairwise::SoftmaxResult<Real> plan = pairwise::softmin_sqdist(ctx, s.eps.back(), rows_x.mine(), y, lw_y);
  const ParticleSet<double> f_mine = rows_x.comm ? shard_rows(ctx, r.f, rows_x.shard) : ParticleSet<double>();
  const ParticleSet<double>& f_rows = rows_x.comm ? f_mine : r.f;
  r.cost = rows_x.total(detail::reduce(ctx, f_rows.n(), 1,
                                       kernels::SinkhornPlanCost<Real>{f_rows.data(), plan.lse.data(), plan.mean.data(), o.eps,
                                                                       double(n)})[0]);
  r.ot = average(ctx, r.f) + average(ctx, r.g);
  r.divergence = o.debias ? r.ot - (average(ctx, symmetric_potential(ctx, x, s, o)) + average(ctx, symmetric_potential(ctx, y, s, o)))
                          : std::numeric_limits<double>::quiet_NaN();
  r.f = detail::in_input_order(ctx, order_x, std::move(r.f));
  r.g = detail::in_input_order(ctx, order_y, std::move(r.g));
  return r;
}

template <class Real>
ParticleSet<double> sinkhorn_self_potential(const Context& ctx, const ParticleSet<Real>& x_in, const SinkhornOptions& o) {
  FLOWSAMPLER_EXPECTS(x_in.n() > 0, "sinkhorn_self: empty set");
  FLOWSAMPLER_EXPECTS(std::isfinite(o.eps) && o.eps > 0, "sinkhorn_self: eps must be finite and > 0, got " << o.eps);
  FLOWSAMPLER_EXPECTS(o.tol > 0 && o.max_iter >= 1, "sinkhorn_self: need tol > 0 and max_iter >= 1");
  expect_on(ctx, x_in, "sinkhorn_self: x");
  const Box box = bounding_box(ctx, x_in, "sinkhorn_self: x");
  const detail::SpatialOrder order = detail::spatial_order(ctx, x_in, box.lo, box.hi);  // as in sinkhorn()
  const ParticleSet<Real> x = detail::in_order(ctx, order, shifted(ctx, x_in, centre_of(ctx, x_in)));
  return detail::in_input_order(ctx, order, symmetric_potential(ctx, x, eps_schedule(squared_diameter(box, box), o), o));
}

template <class Real>
ParticleSet<Real> barycentric_projection(const Context& ctx, const ParticleSet<Real>& x, const ParticleSet<Real>& y,
                                         const ParticleSet<double>& g, double eps) {
  FLOWSAMPLER_EXPECTS(g.n() == y.n() && g.d() == 1, "barycentric_projection: g needs M = " << y.n() << " values, got " << g.n() << " x " << g.d());
  FLOWSAMPLER_EXPECTS(std::isfinite(eps) && eps > 0, "barycentric_projection: eps must be > 0, got " << eps);
  expect_on(ctx, g, "barycentric_projection: g");
  ParticleSet<Real> lw(ctx, y.n(), 1);
  detail::for_each(ctx, y.n(), kernels::SinkhornLogWeights<Real>{lw.data(), g.data(), -std::log(double(y.n())), eps});
  // Softmax of -|x - y|^2 / eps + lw: the Gaussian mean shift with 2 s^2 = eps;
  // T(x) = x + the mean shift.
  const auto shift = pairwise::mean_shift(ctx, std::sqrt(eps / 2), x, y, &lw);
  return detail::lincomb(ctx, shift.mean, {{1.0, &x}});
}

template ParticleSet<double> sinkhorn_self_potential<float>(const Context&, const ParticleSet<float>&, const SinkhornOptions&);
template ParticleSet<double> sinkhorn_self_potential<double>(const Context&, const ParticleSet<double>&, const SinkhornOptions&);
template ParticleSet<float> barycentric_projection<float>(const Context&, const ParticleSet<float>&, const ParticleSet<float>&,
                                                          const ParticleSet<double>&, double);
template ParticleSet<double> barycentric_projection<double>(const Context&, const ParticleSet<double>&,
                                                            const ParticleSet<double>&, const ParticleSet<double>&, double);
template SinkhornResult sinkhorn<float>(const Context&, const ParticleSet<float>&, const ParticleSet<float>&,
                                        const SinkhornOptions&);
template SinkhornResult sinkhorn<double>(const Context&, const ParticleSet<double>&, const ParticleSet<double>&,
                                         const SinkhornOptions&);

}  // namespace flowsampler::solvers
