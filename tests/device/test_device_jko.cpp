// The particle JKO step, its flow and the JKO flow model on the device
// emulator: the same iterates, residuals and inner counts as the CPU backend,
// and the step's transfer budget: per inner iteration no cloud-sized
// transfer, only the residual norm (one scalar read) and the Anderson Gram
// entries (an m x (m + 1) download), beyond what the objective's gradient
// itself moves.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "device/device_testing.hpp"
#include "flowsampler/jko/flow.hpp"
#include "flowsampler/jko/model.hpp"
#include "flowsampler/jko/step.hpp"

namespace fs = flowsampler;
namespace ft = flowsampler::test;
namespace fj = flowsampler::jko;

namespace {

// A two-cluster cloud (column-major n x d) drawn on the host.
template <class Real>
std::vector<Real> two_clusters(std::size_t n, std::size_t d, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g;
  std::vector<Real> x(n * d);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t c = 0; c < d; ++c) x[c * n + i] = Real((c == 0 ? (i % 2 ? 1.5 : -1.5) : 0.0) + 0.4 * g(rng));
  return x;
}

fs::targets::GaussianMixture standard_normal(std::size_t d) {
  fs::targets::GaussianMixture pi(d);
  pi.add(1, std::vector<double>(d, 0.0), {1.0});
  return pi;
}

template <class Real>
fj::Objective<Real> kl(std::size_t d, fj::ScoreEstimator e) {
  fj::ScoreOptions so;
  so.estimator = e;
  fj::Objective<Real> F(so);
  F.add_relative_entropy(standard_normal(d));
  return F;
}

// Largest |a - b| relative to the largest |b|.
template <class Real>
double relative_diff(const fs::ParticleSet<Real>& a, const fs::ParticleSet<Real>& b) {
  const std::vector<Real> y = b.to_host();
  double scale = 0;
  for (Real v : y) scale = std::max(scale, std::fabs(double(v)));
  return ft::max_abs_diff(a, b) / scale;
}

template <class Real>
void expect_same_step(fj::ScoreEstimator e, double tol, const fj::StepOptions& o = {}) {
  const std::size_t n = 300, d = 2;
  const std::vector<Real> x = two_clusters<Real>(n, d, 5);
  const fs::Context emu = ft::emulator(), cpu = ft::cpu();
  const auto xe = fs::ParticleSet<Real>::from_column_major(emu, x.data(), n, d);
  const auto xc = fs::ParticleSet<Real>::from_column_major(cpu, x.data(), n, d);
  const fj::Objective<Real> Fe = kl<Real>(d, e), Fc = kl<Real>(d, e);
  const auto se = fj::jko_step(emu, Fe, xe, 0.2, o), sc = fj::jko_step(cpu, Fc, xc, 0.2, o);
  EXPECT_TRUE(se.x.belongs_to(emu));
  EXPECT_EQ(se.inner, sc.inner);
  EXPECT_EQ(se.converged, sc.converged);
  EXPECT_TRUE(sc.converged) << sc.solver_eps << " > " << sc.tol;
  EXPECT_GT(sc.inner, 2);
  EXPECT_LE(relative_diff(se.x, sc.x), tol);
  EXPECT_NEAR(se.solver_eps, sc.solver_eps, tol * sc.tol + 1e-300);
  EXPECT_DOUBLE_EQ(se.score.bandwidth, sc.score.bandwidth);
  // The reported residual is the independent check's.
  EXPECT_NEAR(fj::first_order_residual(emu, Fe, xe, se.x, 0.2, se.score), se.solver_eps, 1e-6 * sc.tol + (sizeof(Real) == 4 ? 1e-5 : 0));
}

}  // namespace

TEST(DeviceJko, KdeStepEqualsTheCpuStep) { expect_same_step<double>(fj::ScoreEstimator::kde, 1e-12); }
TEST(DeviceJko, BlobStepEqualsTheCpuStep) { expect_same_step<double>(fj::ScoreEstimator::blob, 1e-12); }
TEST(DeviceJko, FloatKdeStepEqualsTheCpuStep) { expect_same_step<float>(fj::ScoreEstimator::kde, 1e-5); }
TEST(DeviceJko, PlainDampedFixedPointEqualsTheCpu) {
  fj::StepOptions o;
  o.anderson = 0;
  o.damping = 0.7;
  o.max_inner = 400;
  expect_same_step<double>(fj::ScoreEstimator::kde, 1e-12, o);
}

// Options of a step that runs all of max_inner (an unreachable tolerance)
// with Anderson memory m and no restarts.
fj::StepOptions unconverged(std::size_t m) {
  fj::StepOptions o;
  o.tol = 1e-300;
  o.anderson = int(m);
  o.adaptive = false;
  return o;
}

// Counters of one inner iteration: runs of 4 and 8 gradient evaluations
// (an unreachable tolerance) differ by 4 iterations.
template <class F>
fs::DeviceCounters per_four_iterations(const fs::Context& ctx, F&& step_with_max_inner) {
  step_with_max_inner(4);  // warms the pool
  fs::DeviceCounters c0 = ctx.counters();
  step_with_max_inner(4);
  const fs::DeviceCounters four = ctx.counters() - c0;
  c0 = ctx.counters();
  step_with_max_inner(8);
  const fs::DeviceCounters eight = ctx.counters() - c0;
  return eight - four;
}

TEST(DeviceJko, InnerIterationMovesOneScalarAndTheGram) {
  // An objective made of device-resident pairwise terms only (interaction
  // and MMD to a data cloud): every transfer left is the step's own.
  const std::size_t n = 400, d = 2, m = 5;
  const std::vector<double> x = two_clusters<double>(n, d, 7), data = two_clusters<double>(n, d, 8);
  fs::Context ctx = ft::emulator();
  const auto xs = fs::ParticleSet<double>::from_column_major(ctx, x.data(), n, d);
  const auto ds = fs::ParticleSet<double>::from_column_major(ctx, data.data(), n, d);
  fj::Objective<double> F;
  F.add_interaction({fs::pairwise::Kernel::gaussian, 1.0}, 0.5).add_mmd(ctx, ds, {fs::pairwise::Kernel::gaussian, 0.7});
  fj::StepOptions o = unconverged(m);
  auto step = [&](int max_inner) {
    o.max_inner = max_inner;
    const auto s = fj::jko_step(ctx, F, xs, 0.5, o);
    ASSERT_EQ(s.inner, max_inner);
  };
  const fs::DeviceCounters per4 = per_four_iterations(ctx, step);
  const std::uint64_t gram = m * (m + 1) * sizeof(double), scalar = sizeof(double);
  EXPECT_TRUE(ft::within(per4, ft::Budget{4 * (gram + scalar), 0, 8, 0, 8})) << ft::describe(per4);
  EXPECT_EQ(per4.uploads, 0u);
  EXPECT_LE(per4.downloads, 8u);  // the residual norm and the Gram, per iteration

  // A whole step moves less than one cloud.
  ctx.reset_counters();
  o.max_inner = 20;
  (void)fj::jko_step(ctx, F, xs, 0.5, o);
  const fs::DeviceCounters whole = ctx.counters();
  EXPECT_LT(whole.transfer_bytes(), n * d * sizeof(double)) << ft::describe(whole);
  EXPECT_EQ(whole.uploads, 0u) << ft::describe(whole);
}

TEST(DeviceJko, InnerIterationAddsOnlyScalarsToTheGradientsTransfers) {
  // With the KL objective the gradient (GMM score, KDE) may move data of its
  // own; the step adds at most one scalar read and the Gram per iteration.
  const std::size_t n = 300, d = 2, m = 5;
  const std::vector<double> x = two_clusters<double>(n, d, 9);
  fs::Context ctx = ft::emulator();
  const auto xs = fs::ParticleSet<double>::from_column_major(ctx, x.data(), n, d);
  const fj::Objective<double> F = kl<double>(d, fj::ScoreEstimator::kde);
  const fj::ScoreParams p = F.resolve(ctx, xs);
  (void)F.gradient(ctx, xs, xs, p);
  fs::DeviceCounters c0 = ctx.counters();
  (void)F.gradient(ctx, xs, xs, p);
  const fs::DeviceCounters grad = ctx.counters() - c0;
  fj::StepOptions o = unconverged(m);
  auto step = [&](int max_inner) {
    o.max_inner = max_inner;
    (void)fj::jko_step(ctx, F, xs, 0.05, o);
  };
  const fs::DeviceCounters per4 = per_four_iterations(ctx, step);
  const std::uint64_t gram = m * (m + 1) * sizeof(double), scalar = sizeof(double);
  EXPECT_LE(per4.transfer_bytes(), 4 * (grad.transfer_bytes() + gram + scalar)) << ft::describe(per4) << " vs gradient "
                                                                                << ft::describe(grad);
  EXPECT_LE(per4.uploads, 4 * grad.uploads);
  EXPECT_LE(per4.downloads, 4 * (grad.downloads + 2));
  EXPECT_LE(per4.synchronizations, 4 * (grad.synchronizations + 2));
}

TEST(DeviceJko, FlowDiagnosticsAndModelEqualTheCpu) {
  const std::size_t n = 200, d = 2;
  const std::vector<double> x = two_clusters<double>(n, d, 11);
  fs::Context emu = ft::emulator(3), cpu = ft::cpu(3);
  const auto xe = fs::ParticleSet<double>::from_column_major(emu, x.data(), n, d);
  const auto xc = fs::ParticleSet<double>::from_column_major(cpu, x.data(), n, d);
  fj::FlowOptions o;
  o.schedule = fj::StepSchedule::constant(0.3);
  o.max_steps = 2;
  o.diagnostic_points = 64;
  o.seed = 4;
  fj::FlowResult<double> re, rc;
  const auto me = fj::JkoModel<double>::train(emu, standard_normal(d), {}, xe, o, &re);
  const auto mc = fj::JkoModel<double>::train(cpu, standard_normal(d), {}, xc, o, &rc);
  ASSERT_EQ(re.records.size(), rc.records.size());
  for (std::size_t k = 0; k < rc.records.size(); ++k) {
    const fj::StepRecord &a = re.records[k], &b = rc.records[k];
    EXPECT_EQ(a.inner, b.inner) << k;
    EXPECT_NEAR(a.w2, b.w2, 1e-10) << k;
    EXPECT_NEAR(a.kl, b.kl, 1e-10) << k;
    EXPECT_NEAR(a.mmd2, b.mmd2, 1e-10) << k;
    if (k > 0) {
      EXPECT_TRUE(std::isfinite(b.lipschitz_forward) && std::isfinite(b.lipschitz_reverse)) << k;
      EXPECT_NEAR(a.lipschitz_forward, b.lipschitz_forward, 1e-6 * b.lipschitz_forward) << k;
      EXPECT_NEAR(a.lipschitz_reverse, b.lipschitz_reverse, 1e-6 * b.lipschitz_reverse) << k;
    }
  }
  const fj::InversionError ee = me.inversion_error(emu), ec = mc.inversion_error(cpu);
  EXPECT_NEAR(ee.rms, ec.rms, 1e-12);
  EXPECT_NEAR(ee.max, ec.max, 1e-12);
  EXPECT_NEAR(ee.relative, ec.relative, 1e-12);
  ASSERT_EQ(ee.per_step.size(), ec.per_step.size());
  for (std::size_t k = 0; k < ec.per_step.size(); ++k) EXPECT_NEAR(ee.per_step[k], ec.per_step[k], 1e-12);
  EXPECT_LT(ec.relative, 1e-6);
  const auto ge = me.generate(emu, 50), gc = mc.generate(cpu, 50);
  EXPECT_TRUE(ge.belongs_to(emu));
  EXPECT_LE(relative_diff(ge, gc), 1e-10);
}

TEST(DeviceJko, ExplicitStepEqualsTheCpu) {
  const std::size_t n = 150, d = 3;
  const std::vector<float> x = two_clusters<float>(n, d, 13);
  const fs::Context emu = ft::emulator(), cpu = ft::cpu();
  const auto xe = fs::ParticleSet<float>::from_column_major(emu, x.data(), n, d);
  const auto xc = fs::ParticleSet<float>::from_column_major(cpu, x.data(), n, d);
  fj::StepOptions o;
  o.explicit_step = true;
  const auto Fe = kl<float>(d, fj::ScoreEstimator::blob), Fc = kl<float>(d, fj::ScoreEstimator::blob);
  const auto se = fj::jko_step(emu, Fe, xe, 0.1, o), sc = fj::jko_step(cpu, Fc, xc, 0.1, o);
  EXPECT_LE(relative_diff(se.x, sc.x), 1e-6);
  EXPECT_NEAR(se.solver_eps, sc.solver_eps, 1e-5 * sc.solver_eps);
}
