#include "flowsampler/monge/train.hpp"

#include <Eigen/Dense>
#include <chrono>
#include <cmath>
#include <memory>
#include <random>

#include "flowsampler/core/error.hpp"
#include "flowsampler/metrics/mmd.hpp"
#include "flowsampler/monge/optimizer.hpp"

namespace flowsampler::monge {

Method parse_method(const std::string& name, const std::string& what) {
  if (name == "implicit") return Method::implicit_scheme;
  if (name == "explicit") return Method::explicit_scheme;
  if (name == "euclidean") return Method::euclidean;
  if (name == "adam") return Method::adam;
  FLOWSAMPLER_EXPECTS(false, what << ": expected implicit, explicit, euclidean or adam, got '" << name << "'");
  return Method::implicit_scheme;
}

std::string to_string(Method m) {
  switch (m) {
    case Method::implicit_scheme: return "implicit";
    case Method::explicit_scheme: return "explicit";
    case Method::euclidean: return "euclidean";
    case Method::adam: return "adam";
  }
  return "?";
}

Sampler mixture_sampler(const targets::GaussianMixture& source) {
  return [source](Context& ctx, std::size_t n) { return source.sample<double>(ctx, n); };
}

Sampler cloud_sampler(const ParticleSet<double>& cloud) {
  FLOWSAMPLER_EXPECTS(cloud.n() >= 1, "cloud sampler: the cloud is empty");
  auto host = std::make_shared<const std::vector<double>>(cloud.to_host());
  const std::size_t m = cloud.n(), d = cloud.d();
  return [host, m, d](Context& ctx, std::size_t n) {
    std::mt19937_64 rng(ctx.seed() * 0x9e3779b97f4a7c15ull + ctx.next_draw());
    std::uniform_int_distribution<std::size_t> pick(0, m - 1);
    std::vector<double> out(n * d);
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t j = pick(rng);
      for (std::size_t c = 0; c < d; ++c) out[c * n + i] = (*host)[c * m + j];
    }
    return ParticleSet<double>::from_column_major(ctx, out.data(), n, d);
  };
}

namespace {

using Clock = std::chrono::steady_clock;

struct Batch {
  std::vector<double> x;  // column-major n x d
  std::size_t n = 0, d = 0;
};

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
  // A stream of its own: draws made elsewhere with the same seed (e.g. the
  // target samples of an MMD functional) must not be the same normals.
  ctx.set_seed(o.seed ^ 0x6d6f6e6765747261ull);
  // Records draw from their own stream, so recording never changes the training draws.
  Context rec_ctx = Context::create(ctx.backend(), o.seed ^ 0x5eedf00dull);
  const auto t0 = Clock::now();
  MongeReport rep;

  auto draw = [&](Context& c) {
    const ParticleSet<double> X = source(c, o.batch);
    FLOWSAMPLER_EXPECTS(X.d() == d && X.n() == o.batch,
                        "monge: the source gave " << X.n() << " x " << X.d() << " points, expected " << o.batch << " x " << d);
    return Batch{X.to_host(), X.n(), X.d()};
  };
  auto cloud = [&](const std::vector<double>& v, std::size_t n) {
    return ParticleSet<double>::from_column_major(ctx, v.data(), n, d);
  };
  auto wgrad = [&](const std::vector<double>& y, std::size_t n) {
    ++rep.wgrad_evaluations;
    return F.wgrad(ctx, cloud(y, n)).to_host();
  };
  auto apply_step = [&](Optimizer& opt, const Batch& b, const std::vector<double>& g) {
    ++rep.map_gradients;
    const std::vector<double> grad = pot.map_vjp(b.x.data(), g.data(), b.n);
    std::vector<double> th = pot.params();
    opt.step(th, grad);
    pot.set_params(th);
  };
  auto record = [&](int step, double time) {
    MongeRecord r;
    r.step = step, r.time = time;
    if (o.record_value) {
      const Batch b = draw(rec_ctx);
      r.value = F.value(ctx, cloud(pot.map(b.x.data(), b.n), b.n));
    }
    if (eval.source) {
      const ParticleSet<double> pushed = apply_map(ctx, pot, *eval.source);
      r.energy_distance = metrics::energy_distance(ctx, pushed, *eval.target);
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
      const Batch b = draw(ctx);
      std::vector<double> g = wgrad(pot.map(b.x.data(), b.n), b.n);
      for (double& v : g) v /= n;
      apply_step(*opt, b, g);
      if (s % every == 0 || s == o.steps) record(s, double(s));
      if (o.on_step) o.on_step(s, o.steps);
    }
  } else {
    for (int k = 1; k <= o.steps; ++k) {
      const std::unique_ptr<ConvexPotential> prev = pot.clone();  // T_k
      const bool identity = o.method == Method::explicit_scheme && o.identity_first_step && k == 1;
      auto previous_map = [&](const Batch& b) { return identity ? b.x : prev->map(b.x.data(), b.n); };
      Adam opt(o.lr, o.beta1, o.beta2, o.adam_eps);
      Batch b;
      std::vector<double> anchor;  // explicit: z_i; implicit: T_k(x_i)
      for (int it = 0; it < o.inner; ++it) {
        if (it == 0 || o.fresh_inner_batches) {
          b = draw(ctx);
          anchor = previous_map(b);
          if (o.method == Method::explicit_scheme) {
            const std::vector<double> G = wgrad(anchor, b.n);
            for (std::size_t q = 0; q < anchor.size(); ++q) anchor[q] -= o.tau * G[q];
          }
        }
        const std::vector<double> T = pot.map(b.x.data(), b.n);
        std::vector<double> g(T.size());
        if (o.method == Method::explicit_scheme) {
          for (std::size_t q = 0; q < T.size(); ++q) g[q] = 2 * (T[q] - anchor[q]) / n;
        } else {
          const std::vector<double> G = wgrad(T, b.n);
          for (std::size_t q = 0; q < T.size(); ++q) g[q] = (G[q] + (T[q] - anchor[q]) / o.tau) / n;
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
