// `reproduce monge`, Corollary 3.8: the parameterised explicit step,
//   theta_{k+1} = argmin_theta mean_i |T_theta(x_i) - (T_k(x_i) - tau g_i)|^2,
// g_i = grad_W F(T_k#rho)(T_k(x_i)), is a step of the natural gradient flow
// for the pullback of the flat L2(rho) metric: to first order in tau,
//   T_{k+1}(x) - T_k(x) = -tau J (J^T J)^-1 J^T g,   J = dT_theta(x_i)/dtheta,
// while Euclidean gradient descent moves along -J J^T g. Here J comes from
// central differences of the potential's forward map (not from the
// hand-written backward pass the training uses), on a fixed batch, and the
// library's explicit step runs with one batch and many inner Adam steps.
#include <Eigen/Dense>

#include <cmath>
#include <vector>

#include "flowsampler/monge/functional.hpp"
#include "flowsampler/monge/potential.hpp"
#include "flowsampler/monge/train.hpp"
#include "flowsampler/targets/gaussian_mixture.hpp"
#include "monge_sections.hpp"
#include "util.hpp"

namespace flowsampler::cli::reproduce {

namespace {

using Json = nlohmann::json;
using Eigen::MatrixXd;
using Eigen::VectorXd;

VectorXd flat(const ParticleSet<double>& y) {
  const std::vector<double> h = y.to_host();
  return Eigen::Map<const VectorXd>(h.data(), Eigen::Index(h.size()));
}

}  // namespace

Json monge_natural_gradient(const Options& o, Checks& checks, std::ostringstream& md) {
  const gaussian_monge::Problem p = monge_gaussian_problem(2);
  targets::GaussianMixture source(2), target(2);
  source.add(1.0, {p.m1(0), p.m1(1)}, {p.S1(0, 0), p.S1(0, 1), p.S1(1, 0), p.S1(1, 1)});
  target.add(1.0, {0.0, 0.0}, {p.S2(0, 0), p.S2(0, 1), p.S2(1, 0), p.S2(1, 1)});
  Context ctx = Context::create(Backend::cpu, o.seed + 55, 1);
  const std::size_t N = 64;
  const ParticleSet<double> X = source.sample<double>(ctx, N);
  monge::PotentialSpec ps;
  ps.widths = {4}, ps.seed = o.seed + 55;
  const auto pot = monge::make_potential(ps);
  {
    // A map visibly away from the identity: a network part of weight 0.5.
    std::vector<double> th = pot->params();
    const auto& lay = dynamic_cast<const monge::IcnnPotential&>(*pot).layout();
    for (std::size_t j = 0; j < ps.widths[0]; ++j) th[lay.w + j] = 0.5;
    pot->set_params(th);
  }
  const auto F = monge::make_kl(ctx, target);
  const ParticleSet<double> TX = pot->map(ctx, X);
  const VectorXd t0 = flat(TX), g = flat(F->wgrad(ctx, TX));

  // J by central differences of the forward map.
  const std::vector<double> theta = pot->params();
  const std::size_t P = theta.size();
  MatrixXd J(t0.size(), Eigen::Index(P));
  const auto probe = pot->clone();
  const double h = 1e-6;
  for (std::size_t j = 0; j < P; ++j) {
    std::vector<double> tp = theta, tm = theta;
    tp[j] += h, tm[j] -= h;
    probe->set_params(tp);
    const VectorXd fp = flat(probe->map(ctx, X));
    probe->set_params(tm);
    J.col(Eigen::Index(j)) = (fp - flat(probe->map(ctx, X))) / (2 * h);
  }
  const Eigen::JacobiSVD<MatrixXd> svd(J, Eigen::ComputeThinU | Eigen::ComputeThinV);
  const double cond = svd.singularValues()(0) / svd.singularValues()(Eigen::Index(P) - 1);
  const VectorXd natural = -(J * svd.solve(g));  // -J (J^T J)^-1 J^T g per unit tau
  const VectorXd euclid = -(J * (J.transpose() * g));

  Json rows = Json::array();
  std::vector<double> errs;
  const std::vector<double> taus = o.quick ? std::vector<double>{0.02, 0.01} : std::vector<double>{0.04, 0.02, 0.01};
  const int inner = o.quick ? 3000 : 10000;
  md << "\n## Corollary 3.8: the explicit step is a natural-gradient step\n\n"
     << "ICNN 2 x 4 (" << P << " parameters, J^T J condition number " << fmt(cond, 3) << "), " << N
     << " fixed source points, F = KL to N(0, S2); the library's explicit step with one batch and " << inner
     << " inner Adam steps, against -tau J (J^T J)^-1 J^T g (J by central differences).\n\n"
     << "| tau | relative error to the natural step | relative error to the best multiple of the Euclidean step |\n|---|---|---|\n";
  for (double tau : taus) {
    const auto q = pot->clone();
    monge::MongeOptions mo;
    mo.method = monge::Method::explicit_scheme, mo.tau = tau, mo.steps = 1, mo.inner = inner, mo.lr = 1e-3 * tau / 0.01;
    mo.batch = N, mo.seed = o.seed + 56, mo.record_value = false, mo.fresh_inner_batches = false;
    monge::train_monge_map(ctx, *q, *F, [&X](Context& c, std::size_t) { return X.copy(c); }, mo);
    const VectorXd dT = (flat(q->map(ctx, X)) - t0) / tau;
    const double err = (dT - natural).norm() / natural.norm();
    const double c = dT.dot(euclid) / euclid.squaredNorm();
    const double err_eu = (dT - c * euclid).norm() / dT.norm();
    errs.push_back(err);
    rows.push_back({{"tau", tau}, {"relative_error_natural", err}, {"relative_error_euclidean", err_eu}});
    md << "| " << fmt(tau) << " | " << fmt(err, 3) << " | " << fmt(err_eu, 3) << " |\n";
  }
  const double err_eu_last = rows.back()["relative_error_euclidean"].get<double>();
  checks.at_most("cor3.8/natural", "Corollary 3.8: the explicit step's map displacement / tau is the L2(rho)-natural gradient -J (J^T J)^-1 J^T g (relative error, tau = " + fmt(taus.back()) + ")",
                 errs.back(), 0, 0.25,
                 "not sharp: the inner Adam solve (constant lr, J^T J condition number " + fmt(cond, 2) +
                     ") stops 10-20% short of the least-squares minimiser, an error that does not shrink with tau (lr scales with "
                     "tau; see the tau column), so the equality is checked to 0.25. A factor 2 in the displacement is a relative error "
                     "of ~1; the Euclidean direction -J J^T g is " + fmt(err_eu_last, 2) + " away");
  checks.at_least("cor3.8/euclidean-differs", "the Euclidean-gradient direction -J J^T g does not explain the step (relative error of its best multiple)",
                  err_eu_last, 0.5, 0,
                  "shows the natural-gradient check tells the two metrics apart here", CheckKind::sanity);
  return {{"parameters", P}, {"points", N}, {"condition_number", cond}, {"inner", inner}, {"rows", rows}};
}

}  // namespace flowsampler::cli::reproduce
