#include "flowsampler/jko/step.hpp"

#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/launch.hpp"
#include "core/lincomb.hpp"
#include "core/rank_rows.hpp"
#include "flowsampler/core/error.hpp"
#include "jko/iterate.hpp"

namespace flowsampler::jko {

namespace {

// Solves the small system (M + lambda I) g = b by Gaussian elimination with
// partial pivoting (M symmetric positive semi-definite, m <= 32).
// lambda: 1e-10 of the mean diagonal (Anderson's Gram matrices are nearly
// singular once the iteration converges), plus the least normal double's
// neighbourhood so that an all-zero M stays invertible.
std::vector<double> solve_small(std::vector<double> M, std::vector<double> b, std::size_t m) {
  constexpr double relative_ridge = 1e-10, absolute_ridge = 1e-300;
  double tr = 0;
  for (std::size_t i = 0; i < m; ++i) tr += M[i * m + i];
  for (std::size_t i = 0; i < m; ++i) M[i * m + i] += relative_ridge * tr / double(m) + absolute_ridge;
  for (std::size_t c = 0; c < m; ++c) {
    std::size_t p = c;
    for (std::size_t r = c + 1; r < m; ++r)
      if (std::abs(M[r * m + c]) > std::abs(M[p * m + c])) p = r;
    for (std::size_t k = 0; k < m; ++k) std::swap(M[c * m + k], M[p * m + k]);
    std::swap(b[c], b[p]);
    for (std::size_t r = c + 1; r < m; ++r) {
      const double f = M[r * m + c] / M[c * m + c];
      for (std::size_t k = c; k < m; ++k) M[r * m + k] -= f * M[c * m + k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> g(m);
  for (std::size_t c = m; c-- > 0;) {
    double s = b[c];
    for (std::size_t k = c + 1; k < m; ++k) s -= M[c * m + k] * g[k];
    g[c] = s / M[c * m + c];
  }
  return g;
}

// dst = src on the context's backend (a device-to-device copy on a device).
void assign(const Context& ctx, ParticleSet<double>& dst, const ParticleSet<double>& src) {
  detail::device_of(ctx).copy(dst.data(), src.data(), src.size() * sizeof(double));
}

// The Anderson history: the last `memory` differences of iterates (dX) and of
// fixed-point steps (dF), columns of two len x memory device matrices used as
// ring buffers. Entry i (0 = oldest) is column slot(i).
class AndersonHistory {
 public:
  AndersonHistory(const Context& ctx, std::size_t len, int memory)
      : len_(len), memory_(memory), dX_(ctx, memory > 0 ? len : 0, memory > 0 ? memory : 1),
        dF_(ctx, memory > 0 ? len : 0, memory > 0 ? memory : 1), gram_(ctx, std::size_t(memory) * (memory + 1)) {
    FLOWSAMPLER_EXPECTS(memory == 0 || len <= std::size_t(std::numeric_limits<int>::max()),
                        "jko: Anderson mixing needs N x d <= " << std::numeric_limits<int>::max() << " (BLAS sizes), got " << len
                                                               << "; use anderson = 0");
  }

  int size() const { return count_; }
  void clear() { count_ = next_ = 0; }

  void push(const Context& ctx, const ParticleSet<double>& X, const ParticleSet<double>& Xprev,
            const ParticleSet<double>& f, const ParticleSet<double>& fprev) {
    if (memory_ == 0) return;
    const std::size_t c = std::size_t(next_) * len_;
    detail::for_each(ctx, len_, kernels::HistoryPush{dX_.data() + c, dF_.data() + c, X.data(), Xprev.data(), f.data(), fprev.data()});
    next_ = (next_ + 1) % memory_;
    if (count_ < memory_) ++count_;
  }

  // next = X + w f - sum_i gamma_i (dX_i + w dF_i), gamma minimizing
  // |f - dF gamma|: the Gram matrix dF^T dF and dF^T f come from two GEMMs on
  // the device and one small download; the solve is on the host. Split over
  // ranks (comm), each rank's GEMMs cover its rows and the ranks add them.
  void mix(const Context& ctx, ParticleSet<double>& next, const ParticleSet<double>& X, const ParticleSet<double>& f,
           double w, const Communicator* comm) {
    const int m = count_;
    kernels::AndersonMix k{next.data(), X.data(), f.data(), w, dX_.data(), dF_.data(), len_, m, {}, {}};
    if (m > 0) {
      std::vector<double> host(std::size_t(m) * (m + 1), 0.0);
      if (len_ > 0) {  // a rank without rows adds zeros
        const int L = int(len_);
        double* G = gram_.data();
        detail::gemm(ctx, true, false, m, m, L, 1.0, dF_.data(), L, dF_.data(), L, 0.0, G, m);
        detail::gemm(ctx, true, false, m, 1, L, 1.0, dF_.data(), L, f.data(), L, 0.0, G + m * m, m);
        detail::device_of(ctx).download(host.data(), G, host.size() * sizeof(double));
      }
      if (comm) host = comm->sum(host);
      // In history order (oldest first), symmetric as the sums it stands for.
      const std::size_t mm = std::size_t(m);
      std::vector<double> M(mm * mm), b(mm);
      for (std::size_t i = 0; i < mm; ++i) {
        k.slot[i] = slot(int(i));
        for (std::size_t j = 0; j <= i; ++j) M[i * mm + j] = M[j * mm + i] = host[slot(int(i)) + slot(int(j)) * mm];
        b[i] = host[mm * mm + slot(int(i))];
      }
      const std::vector<double> gam = solve_small(M, b, mm);
      for (std::size_t i = 0; i < mm; ++i) k.gamma[i] = gam[i];
    }
    detail::for_each(ctx, len_, k);
  }

 private:
  std::size_t slot(int i) const { return std::size_t((count_ < memory_ ? i : next_ + i) % memory_); }
  std::size_t len_;
  int memory_, count_ = 0, next_ = 0;
  ParticleSet<double> dX_, dF_;
  Buffer<double> gram_;
};

// The arguments of jko_step, each with a message naming it.
template <class Real>
void check_step_arguments(const Context& ctx, const Objective<Real>& objective, const ParticleSet<Real>& x, double h,
                          const StepOptions& o) {
  FLOWSAMPLER_EXPECTS(std::isfinite(h) && h > 0, "jko: the step h must be > 0, got " << h);
  FLOWSAMPLER_EXPECTS(x.n() > 0, "jko: the cloud is empty");
  FLOWSAMPLER_EXPECTS(x.n() >= 2 || !objective.needs_score(), "jko: the score estimate needs at least 2 particles, got " << x.n());
  FLOWSAMPLER_EXPECTS(objective.dim() == 0 || x.d() == objective.dim(),
                      "jko: the cloud has d = " << x.d() << ", the objective (target) d = " << objective.dim());
  FLOWSAMPLER_EXPECTS(std::isfinite(o.tol) && o.tol >= 0, "jko: tol must be >= 0 (0: automatic), got " << o.tol);
  FLOWSAMPLER_EXPECTS(o.max_inner >= 1, "jko: max_inner must be >= 1, got " << o.max_inner);
  FLOWSAMPLER_EXPECTS(o.damping > 0 && o.damping <= 1, "jko: damping must be in (0, 1], got " << o.damping);
  FLOWSAMPLER_EXPECTS(o.anderson >= 0 && o.anderson <= kernels::anderson_max_memory,
                      "jko: anderson memory must be in [0, " << kernels::anderson_max_memory << "], got " << o.anderson);
  FLOWSAMPLER_EXPECTS(x.belongs_to(ctx), "jko: the cloud must live in the context's memory (" << to_string(ctx.backend()) << ")");
}

// The automatic inner tolerance, relative to the explicit step's residual:
// what the precision of the cloud lets the fixed point resolve.
template <class Real>
constexpr double automatic_relative_tol = std::is_same<Real, float>::value ? 1e-3 : 1e-7;

}  // namespace

template <class Real>
double first_order_residual(const Context& ctx, const Objective<Real>& objective, const ParticleSet<Real>& x,
                            const ParticleSet<Real>& next, double h, const ScoreParams& params, const Communicator* comm) {
  FLOWSAMPLER_EXPECTS(std::isfinite(h) && h > 0, "jko: the step h must be > 0, got " << h);
  FLOWSAMPLER_EXPECTS(x.n() == next.n() && x.d() == next.d(), "jko: the clouds must pair up, got " << x.n() << " x " << x.d()
                                                                  << " and " << next.n() << " x " << next.d());
  const detail::RankRows<Real> from(ctx, x, comm), to(ctx, next, comm);
  const ParticleSet<Real> g = objective.gradient(ctx, next, to.mine(), params, comm);
  const double s = from.total(detail::reduce(ctx, from.mine().size(), 1,
                                             kernels::CandidateResidual<Real>{from.mine().data(), to.mine().data(), g.data(), h})[0]);
  return std::sqrt(s / double(x.n()));
}

// The iterate X, the step f and their copies live on the context's backend
// in double (this rank's rows x d each); the host sees one residual norm per
// gradient evaluation and, with Anderson mixing, the m x (m + 1) Gram
// entries. Split over ranks, the iterate's rows also travel once per
// evaluation (all_gather_rows), as every rank's G needs the whole cloud.
template <class Real>
StepResult<Real> jko_step(const Context& ctx, const Objective<Real>& objective, const ParticleSet<Real>& x, double h,
                          const StepOptions& o) {
  check_step_arguments(ctx, objective, x, h, o);
  const detail::RankRows<Real> rows(ctx, x, o.comm);  // with one process, rows.mine() is x
  const ParticleSet<Real>& mine = rows.mine();
  const std::size_t n = x.n(), d = x.d(), len = mine.size();
  StepResult<Real> out;
  out.score = objective.resolve(ctx, x);
  ParticleSet<double> x0(ctx, mine.n(), d);
  const double bad = rows.total(detail::reduce(ctx, len, 1, kernels::WidenCountNonFinite<Real>{x0.data(), mine.data()})[0]);
  FLOWSAMPLER_EXPECTS(bad == 0, "jko: the cloud has non-finite coordinates");

  // Residual r = (X - X_k) / h + G(X) and the fixed-point step f = -h r.
  ParticleSet<Real> part(ctx, mine.n(), d);
  auto residual = [&](ParticleSet<double>& X, ParticleSet<double>& f) {
    // The iterate as the cloud holds it: eps is exact for it.
    detail::for_each(ctx, len, kernels::RoundIterate<Real>{X.data(), part.data()});
    // Split over ranks, G at this rank's rows needs the whole cloud.
    const ParticleSet<Real> gathered = rows.comm ? detail::all_gather_rows(ctx, *rows.comm, part) : ParticleSet<Real>();
    const ParticleSet<Real>& cloud = rows.comm ? gathered : part;
    const ParticleSet<Real> g = objective.gradient(ctx, cloud, part, out.score, o.comm);
    const double s =
        rows.total(detail::reduce(ctx, len, 1, kernels::StepResidual<Real>{f.data(), X.data(), x0.data(), g.data(), h})[0]);
    ++out.inner;
    return std::sqrt(s / double(n));
  };
  auto narrow = [&](const ParticleSet<double>& X) {
    ParticleSet<Real> r(ctx, mine.n(), d);
    detail::for_each(ctx, len, kernels::Convert<Real, double>{r.data(), X.data()});
    if (rows.comm) r = detail::all_gather_rows(ctx, *rows.comm, r);
    return r;
  };

  ParticleSet<double> X = x0.copy(ctx), f(ctx, mine.n(), d);
  const double eps0 = residual(X, f);  // = rms |G(X_k)|: f is the explicit step
  out.tol = o.tol > 0 ? o.tol : automatic_relative_tol<Real> * eps0;
  if (o.explicit_step) {
    detail::lincomb_into(ctx, X, X, {{1.0, &f}});
    out.x = narrow(X);
    out.solver_eps = first_order_residual(ctx, objective, x, out.x, h, out.score, o.comm);
    out.inner = 0;
    return out;
  }
  double eps = eps0, best = eps0, w = o.damping;
  ParticleSet<double> Xbest = X.copy(ctx), fbest = f.copy(ctx), Xprev(ctx, mine.n(), d), fprev(ctx, mine.n(), d),
      next(ctx, mine.n(), d);
  AndersonHistory history(ctx, len, o.anderson);
  while (eps > out.tol && out.inner < o.max_inner) {
    // Next iterate: X + w f, corrected by Anderson mixing over the history.
    history.mix(ctx, next, X, f, w, rows.comm);
    std::swap(Xprev, X);
    std::swap(X, next);
    std::swap(fprev, f);  // f is rewritten whole by the residual
    eps = residual(X, f);
    if (std::isfinite(eps) && eps < best) {
      best = eps;
      assign(ctx, Xbest, X);
      assign(ctx, fbest, f);
    }
    if (o.adaptive && (!std::isfinite(eps) || eps > 2 * best)) {
      // Diverging: back to the best iterate, half the damping, fresh history.
      w *= 0.5;
      assign(ctx, X, Xbest);
      assign(ctx, f, fbest);
      eps = best;
      history.clear();
      if (w < 1e-4) break;
      continue;
    }
    FLOWSAMPLER_EXPECTS(std::isfinite(eps), "jko: the inner iteration diverged (non-finite residual); try a smaller h or damping");
    history.push(ctx, X, Xprev, f, fprev);
  }
  if (best < eps) {
    std::swap(X, Xbest);
    eps = best;
  }
  out.x = narrow(X);
  out.solver_eps = eps;
  out.converged = eps <= out.tol;
  return out;
}

template StepResult<float> jko_step<float>(const Context&, const Objective<float>&, const ParticleSet<float>&, double,
                                           const StepOptions&);
template StepResult<double> jko_step<double>(const Context&, const Objective<double>&, const ParticleSet<double>&, double,
                                             const StepOptions&);
template double first_order_residual<float>(const Context&, const Objective<float>&, const ParticleSet<float>&,
                                            const ParticleSet<float>&, double, const ScoreParams&, const Communicator*);
template double first_order_residual<double>(const Context&, const Objective<double>&, const ParticleSet<double>&,
                                             const ParticleSet<double>&, double, const ScoreParams&, const Communicator*);

}  // namespace flowsampler::jko
