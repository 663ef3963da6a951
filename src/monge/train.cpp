#include "flowsampler/monge/train.hpp"

#include <Eigen/Dense>
#include <chrono>
#include <cmath>
#include <memory>

#include "core/launch.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/metrics/mmd.hpp"
#include "flowsampler/monge/optimizer.hpp"
#include "monge/losses.hpp"

namespace flowsampler::monge {

Method parse_method(const std::string& name, const std::string& what) {
  return parse_name(method_names, name, what);
}

std::string to_string(Method m) { return name_of(method_names, m); }

Sampler mixture_sampler(const targets::GaussianMixture& source) {
  return [source](Context& ctx, std::size_t n) { return source.sample<double>(ctx, n); };
}

Sampler cloud_sampler(const ParticleSet<double>& cloud) {
  FLOWSAMPLER_EXPECTS(cloud.n() >= 1, "cloud sampler: the cloud is empty");
  // A host copy (the sampler may outlive the cloud), moved once to the
  // memory of the context that draws from it.
  struct Held {
    std::vector<double> host;
    std::size_t m, d;
    ParticleSet<double> there;
  };
  auto held = std::make_shared<Held>(Held{cloud.to_host(), cloud.n(), cloud.d(), {}});
  return [held](Context& ctx, std::size_t n) {
    if (held->there.size() == 0 || !held->there.belongs_to(ctx))
      held->there = ParticleSet<double>::from_column_major(ctx, held->host.data(), held->m, held->d);
    ParticleSet<double> out(ctx, n, held->d);
    flowsampler::detail::for_each(ctx, out.size(),
                                  kernels::ResampleRows{out.data(), held->there.data(), n, held->m, ctx.seed(), ctx.next_draw()});
    return out;
  };
}

namespace {

using Clock = std::chrono::steady_clock;
using flowsampler::detail::for_each;

// A context's random state: its seed and the draws made so far.
struct RandomState {
  std::uint64_t seed = 0;
  std::uint32_t draws = 0;
  static RandomState of(Context& ctx) {
    const std::uint64_t seed = ctx.seed();
    return {seed, ctx.next_draw()};  // the count before this call; apply() undoes the advance
  }
  void apply(Context& ctx) const {
    ctx.set_seed(seed);
    for (std::uint32_t k = 0; k < draws; ++k) (void)ctx.next_draw();
  }
};

// Runs f() with ctx drawing from `stream` (then saved back), and restores
// ctx's own stream: records draw from a stream of their own on the training
// context, so that recording never changes the training draws and every
// batch lives on the training context's device.
template <class F>
auto on_stream(Context& ctx, RandomState& stream, F&& f) {
  const RandomState own = RandomState::of(ctx);
  stream.apply(ctx);
  struct Restore {
    Context& ctx;
    RandomState& stream;
    const RandomState& own;
    ~Restore() {
      stream = RandomState::of(ctx);
      own.apply(ctx);
    }
  } restore{ctx, stream, own};
  return f();
}

// Salts of the two random streams (any fixed odd-looking constants): the
// training draws must not repeat draws made elsewhere with the same seed
// (e.g. the target samples of an MMD functional), and records draw from a
// stream of their own, so recording never changes the training draws.
constexpr std::uint64_t training_stream_salt = 0x6d6f6e6765747261ull;  // "mongetra"
constexpr std::uint64_t record_stream_salt = 0x5eedf00dull;

void check_training_arguments(const ConvexPotential& pot, const Functional& F, const MongeOptions& o,
                              const MongeEval& eval) {
  const std::size_t d = pot.dim();
  FLOWSAMPLER_EXPECTS(std::isfinite(o.tau) && o.tau > 0, "monge: tau must be > 0, got " << o.tau);
  FLOWSAMPLER_EXPECTS(o.steps >= 1, "monge: steps must be >= 1, got " << o.steps);
  FLOWSAMPLER_EXPECTS(o.inner >= 1, "monge: inner must be >= 1, got " << o.inner);
  FLOWSAMPLER_EXPECTS(std::isfinite(o.lr) && o.lr > 0, "monge: lr must be > 0, got " << o.lr);
  FLOWSAMPLER_EXPECTS(o.batch >= 2, "monge: batch must be >= 2, got " << o.batch);
  FLOWSAMPLER_EXPECTS(F.dim() == d, "monge: the functional has d = " << F.dim() << ", the potential d = " << d);
  FLOWSAMPLER_EXPECTS(!eval.source == !eval.target, "monge: evaluation needs both a source and a target cloud");
  if (eval.source) {
    FLOWSAMPLER_EXPECTS(eval.source->d() == d && eval.target->d() == d,
                        "monge: evaluation clouds have d = " << eval.source->d() << " and " << eval.target->d()
                                                             << ", the potential d = " << d);
  }
}

// One training run. Batches, pushed points and their gradients stay in ctx's
// memory; only theta (up) and its gradient (down) cross, once per optimizer step.
class Trainer {
 public:
  Trainer(Context& ctx, ConvexPotential& pot, const Functional& F, const Sampler& source, const MongeOptions& o,
          const MongeEval& eval)
      : ctx_(ctx), pot_(pot), F_(F), source_(source), o_(o), records_{o.seed ^ record_stream_salt, 0} {
    // The evaluation clouds where the records use them.
    const ParticleSet<double>* clouds[2] = {eval.source, eval.target};
    for (int k = 0; k < 2; ++k) {
      eval_[k] = clouds[k];
      if (clouds[k] && !clouds[k]->belongs_to(ctx)) eval_here_[k] = clouds[k]->copy(ctx), eval_[k] = &eval_here_[k];
    }
    ctx.set_seed(o.seed ^ training_stream_salt);
    t0_ = Clock::now();  // the clock starts with the training, after the clouds' copies
  }

  MongeReport run() {
    if (o_.method == Method::euclidean || o_.method == Method::adam) run_direct();
    else run_proximal(o_.method == Method::explicit_scheme);
    rep_.seconds = seconds();
    return std::move(rep_);
  }

 private:
  // Gradient steps on the functional of the pushed source (euclidean, adam).
  void run_direct() {
    std::unique_ptr<Optimizer> opt;
    if (o_.method == Method::euclidean) opt = std::make_unique<GradientDescent>(o_.lr);
    else opt = std::make_unique<Adam>(o_.lr, o_.beta1, o_.beta2, o_.adam_eps);
    const int every = o_.record_every > 0 ? o_.record_every : std::max(1, o_.steps / 10);
    for (int s = 1; s <= o_.steps; ++s) {
      const ParticleSet<double> b = draw();
      ParticleSet<double> g = wgrad(pot_.map(ctx_, b));
      for_each(ctx_, g.size(), kernels::DivideBy{g.data(), double(o_.batch)});
      apply_step(*opt, b, g);
      if (s % every == 0 || s == o_.steps) record(s, double(s));
      if (o_.on_step) o_.on_step(s, o_.steps);
    }
  }

  // Proximal steps T_{k+1} = argmin of the explicit or implicit JKO loss
  // anchored at T_k, each solved by o.inner Adam steps.
  void run_proximal(bool explicit_scheme) {
    const double n = double(o_.batch);
    for (int k = 1; k <= o_.steps; ++k) {
      const std::unique_ptr<ConvexPotential> prev = pot_.clone();  // T_k
      const bool identity = explicit_scheme && o_.identity_first_step && k == 1;
      Adam opt(o_.lr, o_.beta1, o_.beta2, o_.adam_eps);
      ParticleSet<double> b, anchor;  // explicit: z_i; implicit: T_k(x_i)
      for (int it = 0; it < o_.inner; ++it) {
        if (it == 0 || o_.fresh_inner_batches) {
          b = draw();
          anchor = identity ? b.copy(ctx_) : prev->map(ctx_, b);
          if (explicit_scheme) {
            const ParticleSet<double> G = wgrad(anchor);
            for_each(ctx_, anchor.size(), kernels::AnchorStep{anchor.data(), G.data(), o_.tau});
          }
        }
        const ParticleSet<double> T = pot_.map(ctx_, b);
        ParticleSet<double> g(ctx_, T.n(), T.d());
        if (explicit_scheme) {
          for_each(ctx_, g.size(), kernels::ExplicitLossGrad{g.data(), T.data(), anchor.data(), n});
        } else {
          const ParticleSet<double> G = wgrad(T);
          for_each(ctx_, g.size(), kernels::ImplicitLossGrad{g.data(), G.data(), T.data(), anchor.data(), o_.tau, n});
        }
        apply_step(opt, b, g);
      }
      record(k, k * o_.tau);
      if (o_.on_step) o_.on_step(k, o_.steps);
    }
  }

  ParticleSet<double> draw() {
    ParticleSet<double> X = source_(ctx_, o_.batch);
    FLOWSAMPLER_EXPECTS(X.d() == pot_.dim() && X.n() == o_.batch, "monge: the source gave " << X.n() << " x " << X.d()
                                                                  << " points, expected " << o_.batch << " x " << pot_.dim());
    if (!X.belongs_to(ctx_)) X = X.copy(ctx_);  // a user's sampler may draw elsewhere
    return X;
  }
  ParticleSet<double> wgrad(const ParticleSet<double>& y) {
    ++rep_.wgrad_evaluations;
    return F_.wgrad(ctx_, y);
  }
  void apply_step(Optimizer& opt, const ParticleSet<double>& x, const ParticleSet<double>& g) {
    ++rep_.map_gradients;
    const std::vector<double> grad = pot_.map_vjp(ctx_, x, g);
    std::vector<double> th = pot_.params();
    opt.step(th, grad);
    pot_.set_params(th);
  }
  void record(int step, double time) {
    MongeRecord r;
    r.step = step, r.time = time;
    if (o_.record_value) {
      const ParticleSet<double> b = on_stream(ctx_, records_, [&] { return draw(); });
      r.value = F_.value(ctx_, pot_.map(ctx_, b));
    }
    if (eval_[0]) r.energy_distance = metrics::energy_distance(ctx_, apply_map(ctx_, pot_, *eval_[0]), *eval_[1]);
    r.seconds = seconds();
    rep_.history.push_back(r);
  }
  double seconds() const { return std::chrono::duration<double>(Clock::now() - t0_).count(); }

  Context& ctx_;
  ConvexPotential& pot_;
  const Functional& F_;
  const Sampler& source_;
  const MongeOptions& o_;
  RandomState records_;
  ParticleSet<double> eval_here_[2];
  const ParticleSet<double>* eval_[2] = {nullptr, nullptr};
  Clock::time_point t0_;
  MongeReport rep_;
};

}  // namespace

MongeReport train_monge_map(Context& ctx, ConvexPotential& pot, const Functional& F, const Sampler& source,
                            const MongeOptions& o, const MongeEval& eval) {
  check_training_arguments(pot, F, o, eval);
  return Trainer(ctx, pot, F, source, o, eval).run();
}

std::vector<double> bures_map_matrix(const std::vector<double>& S1, const std::vector<double>& S2) {
  FLOWSAMPLER_EXPECTS(S1.size() == S2.size() && !S1.empty(), "bures map: S1 and S2 must be d x d of the same d");
  const auto d = Eigen::Index(std::llround(std::sqrt(double(S1.size()))));
  FLOWSAMPLER_EXPECTS(std::size_t(d * d) == S1.size(), "bures map: " << S1.size() << " entries is not a square matrix");
  const Eigen::MatrixXd A1 = Eigen::Map<const Eigen::MatrixXd>(S1.data(), d, d);
  const Eigen::MatrixXd A2 = Eigen::Map<const Eigen::MatrixXd>(S2.data(), d, d);
  auto spd_check = [&](const Eigen::MatrixXd& S, const char* name) {
    FLOWSAMPLER_EXPECTS((S - S.transpose()).cwiseAbs().maxCoeff() <= 1e-10 * (1 + S.cwiseAbs().maxCoeff()),
                        "bures map: " << name << " is not symmetric");
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(S);
    FLOWSAMPLER_EXPECTS(es.eigenvalues().minCoeff() > 0, "bures map: " << name << " is not positive definite");
    return es;
  };
  const auto e1 = spd_check(A1, "S1");
  spd_check(A2, "S2");
  const Eigen::MatrixXd r1 = e1.operatorSqrt(), ir1 = e1.operatorInverseSqrt();
  const Eigen::MatrixXd mid = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(r1 * A2 * r1).operatorSqrt();
  const Eigen::MatrixXd A = ir1 * mid * ir1;
  std::vector<double> out(std::size_t(d * d));
  for (Eigen::Index i = 0; i < d; ++i)
    for (Eigen::Index j = 0; j < d; ++j) out[std::size_t(i * d + j)] = 0.5 * (A(i, j) + A(j, i));
  return out;
}

}  // namespace flowsampler::monge
