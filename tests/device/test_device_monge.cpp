// The Monge potentials and training loop on the device emulator: values,
// maps and parameter gradients equal to the CPU backend's, a few training
// steps that end at the same parameters, and the loop's transfer budget:
// per optimizer step only parameter-sized transfers (theta up, its gradient
// down) beyond what the functional's gradient itself moves.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "device/device_testing.hpp"
#include "flowsampler/monge/functional.hpp"
#include "flowsampler/monge/potential.hpp"
#include "flowsampler/monge/train.hpp"

namespace fs = flowsampler;
namespace ft = flowsampler::test;
namespace fm = flowsampler::monge;

namespace {

std::vector<double> normals(std::size_t count, unsigned seed, double scale = 1.0, double shift = 0.0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g;
  std::vector<double> v(count);
  for (double& e : v) e = shift + scale * g(rng);
  return v;
}

double max_rel(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0, s = 0;
  for (std::size_t k = 0; k < a.size(); ++k) m = std::max(m, std::fabs(a[k] - b[k])), s = std::max(s, std::fabs(b[k]));
  return m / s;
}

fm::PotentialSpec icnn_spec(std::size_t d) {
  fm::PotentialSpec ps;
  ps.dim = d;
  ps.widths = {7, 5, 4};
  ps.seed = 3;
  return ps;
}

fm::PotentialSpec lse_spec(std::size_t d) {
  fm::PotentialSpec ps;
  ps.type = "lse";
  ps.dim = d;
  ps.pieces = 9;
  ps.s = 0.3;
  ps.seed = 4;
  return ps;
}

void expect_same_potential(const fm::PotentialSpec& ps) {
  const std::size_t n = 130, d = ps.dim;
  const auto pot = fm::make_potential(ps);
  std::vector<double> th = pot->params();
  for (std::size_t k = 0; k < th.size(); ++k) th[k] += 0.05 * std::sin(double(k));  // off the initial symmetric draw
  pot->set_params(th);
  const std::vector<double> x = normals(n * d, 1), g = normals(n * d, 2);
  const fs::Context emu = ft::emulator(), cpu = ft::cpu();
  const auto xe = fs::ParticleSet<double>::from_column_major(emu, x.data(), n, d);
  const auto ge = fs::ParticleSet<double>::from_column_major(emu, g.data(), n, d);
  const auto xc = fs::ParticleSet<double>::from_column_major(cpu, x.data(), n, d);
  const auto gc = fs::ParticleSet<double>::from_column_major(cpu, g.data(), n, d);
  const auto ve = pot->value(emu, xe), te = pot->map(emu, xe);
  EXPECT_TRUE(ve.belongs_to(emu) && te.belongs_to(emu));
  EXPECT_LE(max_rel(ve.to_host(), pot->value(cpu, xc).to_host()), 1e-13);
  EXPECT_LE(max_rel(te.to_host(), pot->map(cpu, xc).to_host()), 1e-13);
  EXPECT_LE(max_rel(pot->map_vjp(emu, xe, ge), pot->map_vjp(cpu, xc, gc)), 1e-13);
  // The host-array overloads are the CPU backend's.
  EXPECT_EQ(pot->map(x.data(), n), pot->map(cpu, xc).to_host());

  // Parameter-sized transfers only: theta up (map), theta up and its gradient down (vjp).
  fs::Context c = ft::emulator();
  const auto xs = fs::ParticleSet<double>::from_column_major(c, x.data(), n, d);
  const auto gs = fs::ParticleSet<double>::from_column_major(c, g.data(), n, d);
  (void)pot->map(c, xs), (void)pot->map_vjp(c, xs, gs);  // warms the pool
  const fs::DeviceCounters c0 = c.counters();
  {
    const auto T = pot->map(c, xs);
    (void)pot->map_vjp(c, xs, gs);
  }
  const fs::DeviceCounters used = c.counters() - c0;
  const std::uint64_t P = pot->num_params() * sizeof(double);
  EXPECT_TRUE(ft::within(used, ft::Budget{3 * P, 2, 1, 0, 1})) << ft::describe(used);
}

}  // namespace

TEST(DeviceMonge, IcnnEqualsTheCpu) { expect_same_potential(icnn_spec(3)); }
TEST(DeviceMonge, IcnnWithoutSkipEqualsTheCpu) {
  fm::PotentialSpec ps = icnn_spec(2);
  ps.skip = false;
  ps.init = "seed";
  expect_same_potential(ps);
}
TEST(DeviceMonge, LseEqualsTheCpu) { expect_same_potential(lse_spec(2)); }

namespace {

// Trains a copy of `start` for a few steps on ctx; MMD to fixed samples, the
// source a fixed cloud resampled on the device.
std::vector<double> train(fs::Context& ctx, const fm::ConvexPotential& start, fm::Method method, int steps,
                          fs::DeviceCounters* per_step = nullptr) {
  const std::size_t n = 200, d = 2;
  const std::vector<double> src = normals(n * d, 5, 0.7, 1.0), tgt = normals(n * d, 6);
  const auto source = fs::ParticleSet<double>::from_column_major(ctx, src.data(), n, d);
  const auto target = fs::ParticleSet<double>::from_column_major(ctx, tgt.data(), n, d);
  const auto F = fm::make_mmd(ctx, target);
  fm::MongeOptions o;
  o.method = method;
  o.steps = steps;
  o.inner = 3;
  o.batch = 64;
  o.lr = 0.05;
  o.tau = 0.5;
  o.seed = 9;
  o.record_value = false;
  const fm::Sampler sampler = fm::cloud_sampler(source);
  auto run = [&](int s) {
    auto pot = start.clone();
    o.steps = s;
    fm::train_monge_map(ctx, *pot, *F, sampler, o);
    return pot->params();
  };
  if (per_step) {
    (void)run(1);  // warms the pool and moves the source cloud
    fs::DeviceCounters c0 = ctx.counters();
    (void)run(1);
    const fs::DeviceCounters one = ctx.counters() - c0;
    c0 = ctx.counters();
    (void)run(3);
    *per_step = (ctx.counters() - c0) - one;  // two optimizer steps (adam) or outer steps
  }
  return run(steps);
}

}  // namespace

TEST(DeviceMonge, TrainingEqualsTheCpu) {
  for (const fm::Method m : {fm::Method::adam, fm::Method::implicit_scheme, fm::Method::explicit_scheme}) {
    const auto pot = fm::make_potential(icnn_spec(2));
    fs::Context emu = ft::emulator(), cpu = ft::cpu();
    const std::vector<double> a = train(emu, *pot, m, 3), b = train(cpu, *pot, m, 3);
    EXPECT_LE(max_rel(a, b), 1e-10) << fm::to_string(m);
    EXPECT_GT(max_rel(b, pot->params()), 1e-4) << fm::to_string(m);  // it did move
  }
}

TEST(DeviceMonge, TrainingStepMovesOnlyParameters) {
  const auto pot = fm::make_potential(icnn_spec(2));
  const std::uint64_t P = pot->num_params() * sizeof(double);
  {
    fs::Context ctx = ft::emulator();
    fs::DeviceCounters two;
    (void)train(ctx, *pot, fm::Method::adam, 1, &two);
    // Per optimizer step: theta up twice (map, vjp), the gradient down once.
    EXPECT_TRUE(ft::within(two, ft::Budget{2 * 3 * P, 2 * 2, 2 * 1, 0, 2 * 1})) << ft::describe(two);
  }
  {
    fs::Context ctx = ft::emulator();
    fs::DeviceCounters two;
    (void)train(ctx, *pot, fm::Method::implicit_scheme, 1, &two);
    // Per outer step (3 inner steps): theta of T_k up per batch, then per inner step as adam.
    EXPECT_TRUE(ft::within(two, ft::Budget{2 * 3 * 4 * P, 2 * 3 * 3, 2 * 3, 0, 2 * 3})) << ft::describe(two);
  }
}
