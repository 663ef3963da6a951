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

}  // namespace

MongeReport train_monge_map(Context& ctx, ConvexPotential& pot, const Functional& F, const Sampler& source,
                            const MongeOptions& o, const MongeEval& eval) {
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
  // The evaluation clouds where the records use them.
  ParticleSet<double> eval_here[2];
  const ParticleSet<double>* eval_cloud[2] = {eval.source, eval.target};
  for (int k = 0; k < 2; ++k)
    if (eval_cloud[k] && !eval_cloud[k]->belongs_to(ctx)) eval_here[k] = eval_cloud[k]->copy(ctx), eval_cloud[k] = &eval_here[k];
  // A stream of its own: draws made elsewhere with the same seed (e.g. the
  // target samples of an MMD functional) must not be the same normals.
  ctx.set_seed(o.seed ^ 0x6d6f6e6765747261ull);
  // Records draw from their own stream, so recording never changes the training draws.
  RandomState records{o.seed ^ 0x5eedf00dull, 0};
  const auto t0 = Clock::now();
  MongeReport rep;

  // Batches, pushed points and their gradients stay in ctx's memory; only
  // theta (up) and its gradient (down) cross, once per optimizer step.
  auto draw = [&]() {
    ParticleSet<double> X = source(ctx, o.batch);
    FLOWSAMPLER_EXPECTS(X.d() == d && X.n() == o.batch,
                        "monge: the source gave " << X.n() << " x " << X.d() << " points, expected " << o.batch << " x " << d);
    if (!X.belongs_to(ctx)) X = X.copy(ctx);  // a user's sampler may draw elsewhere
    return X;
  };
  auto wgrad = [&](const ParticleSet<double>& y) {
    ++rep.wgrad_evaluations;
    return F.wgrad(ctx, y);
  };
  auto apply_step = [&](Optimizer& opt, const ParticleSet<double>& x, const ParticleSet<double>& g) {
    ++rep.map_gradients;
    const std::vector<double> grad = pot.map_vjp(ctx, x, g);
    std::vector<double> th = pot.params();
    opt.step(th, grad);
    pot.set_params(th);
  };
  auto record = [&](int step, double time) {
    MongeRecord r;
    r.step = step, r.time = time;
    if (o.record_value) {
      const ParticleSet<double> b = on_stream(ctx, records, draw);
      r.value = F.value(ctx, pot.map(ctx, b));
    }
    if (eval_cloud[0]) {
      const ParticleSet<double> pushed = apply_map(ctx, pot, *eval_cloud[0]);
      r.energy_distance = metrics::energy_distance(ctx, pushed, *eval_cloud[1]);
    }
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    rep.history.push_back(r);
  };

  const double n = double(o.batch);
  if (o.method == Method::euclidean || o.method == Method::adam) {
    std::unique_ptr<Optimizer> opt;
    if (o.method == Method::euclidean) opt = std::make_unique<GradientDescent>(o.lr);
    else opt = std::make_unique<Adam>(o.lr, o.beta1, o.beta2, o.adam_eps);
    const int every = o.record_every > 0 ? o.record_every : std::max(1, o.steps / 10);
    for (int s = 1; s <= o.steps; ++s) {
      const ParticleSet<double> b = draw();
      ParticleSet<double> g = wgrad(pot.map(ctx, b));
      for_each(ctx, g.size(), kernels::DivideBy{g.data(), n});
      apply_step(*opt, b, g);
      if (s % every == 0 || s == o.steps) record(s, double(s));
      if (o.on_step) o.on_step(s, o.steps);
    }
  } else {
    const bool explicit_scheme = o.method == Method::explicit_scheme;
    for (int k = 1; k <= o.steps; ++k) {
      const std::unique_ptr<ConvexPotential> prev = pot.clone();  // T_k
      const bool identity = explicit_scheme && o.identity_first_step && k == 1;
      Adam opt(o.lr, o.beta1, o.beta2, o.adam_eps);
      ParticleSet<double> b, anchor;  // explicit: z_i; implicit: T_k(x_i)
      for (int it = 0; it < o.inner; ++it) {
        if (it == 0 || o.fresh_inner_batches) {
          b = draw();
          anchor = identity ? b.copy(ctx) : prev->map(ctx, b);
          if (explicit_scheme) {
            const ParticleSet<double> G = wgrad(anchor);
            for_each(ctx, anchor.size(), kernels::AnchorStep{anchor.data(), G.data(), o.tau});
          }
        }
        const ParticleSet<double> T = pot.map(ctx, b);
        ParticleSet<double> g(ctx, T.n(), T.d());
        if (explicit_scheme) {
          for_each(ctx, g.size(), kernels::ExplicitLossGrad{g.data(), T.data(), anchor.data(), n});
        } else {
          const ParticleSet<double> G = wgrad(T);
          for_each(ctx, g.size(), kernels::ImplicitLossGrad{g.data(), G.data(), T.data(), anchor.data(), o.tau, n});
        }
        apply_step(opt, b, g);
      }
      record(k, k * o.tau);
      if (o.on_step) o.on_step(k, o.steps);
    }
  }
  rep.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return rep;
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
