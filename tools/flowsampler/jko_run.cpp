// The computation of `flowsampler jko` (jko_run.hpp).
#include "jko_run.hpp"

#include <cmath>
#include <string>

#include "checked_output.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/core/sizes.hpp"
#include "flowsampler/jko/objective.hpp"

namespace flowsampler::cli {

const char* const kJkoBlowUp =
    "the steps blew up: --h (or --step-list) too large for the score estimate, or a --bandwidth/--ot-eps so "
    "small that the kernel underflows";

const char* const kJkoSampleBlowUp =
    "the reverse steps blew up: fresh draws far outside the model's clouds (a --model trained with a very small "
    "bandwidth or large h)";

JkoProblem jko_problem(const JkoOptions& o, std::size_t n, std::size_t d, const targets::GaussianMixture* target) {
  FLOWSAMPLER_EXPECTS(o.model.empty() || !o.explicit_step,
                      "--model: the reverse process inverts backward (implicit) steps only; drop --explicit");
  FLOWSAMPLER_EXPECTS(n >= 2, "--data: " << o.data << " needs at least 2 particles, got " << n);
  JkoProblem p;
  p.pi = targets::GaussianMixture(d);
  if (target == nullptr) {
    p.pi.add(1, std::vector<double>(d, 0.0), {1.0});
  } else {
    p.pi = *target;
    FLOWSAMPLER_EXPECTS(p.pi.dim() == d, "--target: d = " << p.pi.dim() << ", --data has d = " << d);
    FLOWSAMPLER_EXPECTS(!p.pi.has_atoms(), "--target: KL(rho || pi) needs pi with a density, not Dirac atoms");
  }
  p.score.estimator = jko::parse_score_estimator(o.estimator, "--estimator");
  p.score.bandwidth = o.bandwidth;
  p.score.ot_eps = o.ot_eps;
  jko::FlowOptions& fo = p.flow;
  if (!o.steps_list.empty()) {
    for (std::size_t k = 0; k < o.steps_list.size(); ++k)
      FLOWSAMPLER_EXPECTS(std::isfinite(o.steps_list[k]) && o.steps_list[k] > 0,
                          "--step-list: step " << k << " is " << o.steps_list[k] << "; expected > 0");
    fo.schedule = jko::StepSchedule::list(o.steps_list);
  } else {
    fo.schedule = o.schedule == "geometric" ? jko::StepSchedule::geometric(o.h, o.ratio) : jko::StepSchedule::constant(o.h);
  }
  fo.max_steps = std::size_t(o.steps);
  fo.w2_tol = o.w2_tol;
  fo.kl_tol = o.kl_tol;
  fo.step.tol = o.tol;
  fo.step.max_inner = o.max_inner;
  fo.step.anderson = o.anderson;
  fo.step.explicit_step = o.explicit_step;
  fo.diagnostic_points = o.diagnostic_points;
  fo.seed = o.seed;
  return p;
}

template <class Real>
jko::FlowResult<Real> run_jko_flow(const Context& ctx, const JkoProblem& p, const ParticleSet<Real>& x0, bool explicit_step) {
  jko::Objective<Real> F(p.score);
  F.add_relative_entropy(p.pi);
  jko::FlowResult<Real> r = jko::run_jko(ctx, F, x0, p.flow);
  expect_finite(r.x.to_row_major().data(), r.x.n(), r.x.d(),
                std::string("jko (") + (explicit_step ? "explicit" : "implicit") + " steps): the final cloud for --out",
                kJkoBlowUp);
  return r;
}

template <class Real>
jko::JkoModel<Real> train_jko_model(const Context& ctx, const JkoProblem& p, const ParticleSet<Real>& x0,
                                    jko::FlowResult<Real>* result) {
  auto model = jko::JkoModel<Real>::train(ctx, p.pi, p.score, x0, p.flow, result);
  for (std::size_t k = 0; k < model.clouds().size(); ++k)
    expect_finite(model.clouds()[k].to_row_major().data(), model.clouds()[k].n(), model.clouds()[k].d(),
                  "jko: cloud X_" + std::to_string(k) + " of --model", kJkoBlowUp);
  return model;
}

template <class Real>
ParticleSet<Real> generate_jko_samples(Context& ctx, const jko::JkoModel<Real>& model, std::size_t n) {
  // The draws, the reverse steps' gradients and the result, before allocating them.
  expect_fits_in_memory(checked_mul(checked_mul(n, model.dim(), "--n"), 8 * sizeof(Real), "--n"), "--n " + std::to_string(n));
  ParticleSet<Real> y = model.generate(ctx, n);
  expect_finite(y.to_row_major().data(), y.n(), y.d(), "jko-sample: the samples for --out", kJkoSampleBlowUp);
  return y;
}

nlohmann::json inversion_json(const jko::InversionError& e) {
  return {{"rms", e.rms}, {"relative", e.relative}, {"max", e.max}, {"per_step", e.per_step}};
}

nlohmann::json record_json(const jko::StepRecord& r) {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  return {{"k", r.k}, {"h", r.h}, {"solver_eps", r.solver_eps}, {"eps_gaussian", num(r.eps_gaussian)}, {"tol", r.tol}, {"inner", r.inner}, {"converged", r.converged},
          {"estimator", jko::to_string(r.score.estimator)}, {"bandwidth", r.score.bandwidth}, {"ot_eps", r.score.ot_eps},
          {"mean", r.mean}, {"covariance", r.cov}, {"w2_bures", num(r.w2)}, {"kl", num(r.kl)},
          {"kl_gaussian", num(r.kl_gaussian)}, {"mmd2", num(r.mmd2)}, {"lipschitz_forward", num(r.lipschitz_forward)},
          {"lipschitz_reverse", num(r.lipschitz_reverse)}, {"seconds", r.seconds}};
}

template jko::FlowResult<float> run_jko_flow(const Context&, const JkoProblem&, const ParticleSet<float>&, bool);
template jko::FlowResult<double> run_jko_flow(const Context&, const JkoProblem&, const ParticleSet<double>&, bool);
template jko::JkoModel<float> train_jko_model(const Context&, const JkoProblem&, const ParticleSet<float>&, jko::FlowResult<float>*);
template jko::JkoModel<double> train_jko_model(const Context&, const JkoProblem&, const ParticleSet<double>&, jko::FlowResult<double>*);
template ParticleSet<float> generate_jko_samples(Context&, const jko::JkoModel<float>&, std::size_t);
template ParticleSet<double> generate_jko_samples(Context&, const jko::JkoModel<double>&, std::size_t);

}  // namespace flowsampler::cli
