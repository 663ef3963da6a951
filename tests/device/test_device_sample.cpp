// The exact fields, the initial draws and every integrator on the device
// emulator: equal to the CPU backend (bit for bit where the kernels are the
// same code and the same thread count) and held to their transfer budgets.
#include <gtest/gtest.h>

#include <cmath>

#include "device/device_testing.hpp"
#include "flowsampler/core/random.hpp"
#include "flowsampler/fields/gmm_field.hpp"
#include "flowsampler/integrate/integrate.hpp"

namespace fs = flowsampler;
namespace ft = flowsampler::test;
namespace fi = flowsampler::integrate;

namespace {

// A ring of 6 isotropic components and, in d = 3, a mixture with a full covariance.
fs::targets::GaussianMixture ring(std::size_t K = 6) {
  fs::targets::GaussianMixture g(2);
  for (std::size_t k = 0; k < K; ++k) {
    const double a = 2 * M_PI * double(k) / double(K);
    g.add(1.0 + 0.1 * double(k), {3 * std::cos(a), 3 * std::sin(a)}, {0.05});
  }
  return g;
}

fs::targets::GaussianMixture full3() {
  fs::targets::GaussianMixture g(3);
  g.add(0.4, {1, 0, -1}, {0.5});
  g.add(0.6, {-1, 1, 0.5}, {1.0, 0.3, 0.2, 0.3, 0.8, 0.1, 0.2, 0.1, 0.6});
  return g;
}

fs::fields::FieldRequest everything() {
  fs::fields::FieldRequest r;
  r.log_density = r.score = r.denoiser = r.velocity = r.divergence = true;
  return r;
}

template <class Real>
void expect_same_fields(const fs::fields::FieldValues<Real>& a, const fs::fields::FieldValues<Real>& b) {
  const double tol = ft::exact_or(1e-3);  // float fields of size O(10): a GPU's exp and FMAs
  EXPECT_LE(ft::max_abs_diff(a.log_density, b.log_density), tol);
  EXPECT_LE(ft::max_abs_diff(a.score, b.score), tol);
  EXPECT_LE(ft::max_abs_diff(a.denoiser, b.denoiser), tol);
  EXPECT_LE(ft::max_abs_diff(a.velocity, b.velocity), tol);
  EXPECT_LE(ft::max_abs_diff(a.divergence, b.divergence), tol);
}

}  // namespace

// Same kernels, same thread count: the emulator's fields are the CPU's bit for bit,
// and an evaluation uploads only the component table (no cloud crosses).
TEST(DeviceSample, GmmFieldsEqualTheCpuAndMoveNoCloud) {
  for (const bool full : {false, true}) {
    for (const bool noise : {false, true}) {
      const auto g = full ? full3() : ring();
      const std::size_t d = g.dim();
      const auto nz = noise ? (d == 2 ? fs::targets::Noise::full({1.5, 0.3, 0.3, 0.7}, 2) : fs::targets::Noise::isotropic(2.0))
                            : fs::targets::Noise::isotropic();
      const fs::fields::GmmField field(g, nz);
      fs::Context cpu = ft::cpu(1), dev = ft::emulator(1);
      fs::ParticleSet<float> z(cpu, 3001, d);
      fs::fill_normal(cpu, z);
      const auto zd = ft::on(dev, z);
      for (double t : {0.1, 0.5, 0.97}) {
        const auto p = fs::paths::make_path("vp").at(t);
        dev.reset_counters();
        const auto on_dev = field.evaluate(dev, p, zd, everything());
        const fs::DeviceCounters c = dev.counters();
        expect_same_fields(on_dev, field.evaluate(cpu, p, z, everything()));
        EXPECT_EQ(c.downloads, 0u) << ft::describe(c);
        EXPECT_LT(c.upload_bytes, 4096u) << ft::describe(c);  // the K-row table and W, W^-1
      }
    }
  }
}

TEST(DeviceSample, InitialDrawsHappenOnTheDevice) {
  fs::Context cpu = ft::cpu(9), dev = ft::emulator(9);
  for (const auto& g : {ring(), full3()}) {
    const auto a = g.sample<double>(cpu, 5000);
    dev.reset_counters();
    const auto b = g.sample<double>(dev, 5000);
    const fs::DeviceCounters c = dev.counters();
    EXPECT_LT(c.upload_bytes, 1024u) << ft::describe(c);
    EXPECT_EQ(c.downloads, 0u);
    EXPECT_LE(ft::max_abs_diff(a, b), ft::exact_or(1e-9));
  }
}

// The budget of issue 16: a fixed-step run moves no cloud during its steps,
// never waits for the device, and stops taking memory once warm (after the
// second step: dpmpp2m keeps the previous denoiser beside the new one).
TEST(DeviceSample, FixedStepIntegratorsStayOnTheDevice) {
  const fs::fields::GmmFlow<float> flow(fs::fields::GmmField(ring()), fs::paths::make_path("vp"));
  for (auto method : {fi::Method::euler, fi::Method::heun, fi::Method::midpoint, fi::Method::rk4, fi::Method::ddim,
                      fi::Method::dpmpp2m}) {
    fs::Context cpu = ft::cpu(4), dev = ft::emulator(4);
    fs::ParticleSet<float> zc(cpu, 20000, 2), zd(dev, 20000, 2);
    fs::fill_normal(cpu, zc);
    fs::fill_normal(dev, zd);
    const auto grid = fi::uniform_grid(0.0, 1.0, 40);
    fs::DeviceCounters after_first;
    fi::Options<float> opts;
    opts.on_step = [&](int k, double, const fs::ParticleSet<float>&) {
      if (k == 1) after_first = dev.counters();
    };
    fi::integrate(cpu, flow, zc, grid, method);
    dev.reset_counters();
    fi::integrate(dev, flow, zd, grid, method, opts);
    const fs::DeviceCounters loop = dev.counters() - after_first;
    EXPECT_TRUE(ft::within(dev.counters(), {/*transfer_bytes=*/40 * 4096, fs::test::Budget{}.uploads, /*downloads=*/0,
                                            fs::test::Budget{}.allocations, /*synchronizations=*/0}))
        << fi::to_string(method);
    EXPECT_EQ(loop.allocations, 0u) << fi::to_string(method) << ": " << ft::describe(loop);
    EXPECT_LE(ft::max_abs_diff(zc, zd), ft::exact_or(1e-3)) << fi::to_string(method);
  }
}

// Adaptive steps read one scalar per step (the error norm); the log-density
// is integrated on the device.
TEST(DeviceSample, Dopri5ReadsOneScalarPerStepAndTracksTheLikelihood) {
  const fs::fields::GmmFlow<double> flow(fs::fields::GmmField(full3()), fs::paths::make_path("linear"));
  fs::Context cpu = ft::cpu(2), dev = ft::emulator(2);
  fs::ParticleSet<double> zc(cpu, 3000, 3);
  fs::fill_normal(cpu, zc);
  auto zd = ft::on(dev, zc);
  fs::ParticleSet<double> llc, lld;
  fi::Options<double> oc, od;
  oc.log_density = &llc;
  od.log_density = &lld;
  fi::AdaptiveOptions ao;
  ao.rtol = ao.atol = 1e-7;
  const auto rc = fi::integrate_adaptive(cpu, flow, zc, 0.0, 0.95, ao, oc);
  dev.reset_counters();
  const auto rd = fi::integrate_adaptive(dev, flow, zd, 0.0, 0.95, ao, od);
  const fs::DeviceCounters c = dev.counters();
  if (!ft::on_gpu()) {
    EXPECT_EQ(rc.steps, rd.steps);
    EXPECT_EQ(rc.rejected, rd.rejected);
  }
  EXPECT_LE(ft::max_abs_diff(zc, zd), ft::exact_or(1e-6));
  EXPECT_LE(ft::max_abs_diff(llc, lld), ft::exact_or(1e-6));
  // One error norm per attempted step, plus the three sizes of the starting-step rule.
  EXPECT_LE(c.synchronizations, std::uint64_t(rd.steps + rd.rejected + 3)) << ft::describe(c);
  EXPECT_LE(c.download_bytes, 8u * std::uint64_t(rd.steps + rd.rejected + 3)) << ft::describe(c);
}

TEST(DeviceSample, ReverseSdeWithLangevinStaysOnTheDevice) {
  const fs::fields::GmmFlow<float> flow(fs::fields::GmmField(ring()), fs::paths::make_path("vp"));
  fs::Context cpu = ft::cpu(6), dev = ft::emulator(6);
  fs::ParticleSet<float> zc(cpu, 10000, 2), zd(dev, 10000, 2);
  fs::fill_normal(cpu, zc);
  fs::fill_normal(dev, zd);
  const auto grid = fi::uniform_grid(0.0, 0.98, 30);
  const fi::SdeOptions so{1.0, 1, 0.16};
  fi::integrate_sde(cpu, flow, zc, grid, so);
  dev.reset_counters();
  const auto r = fi::integrate_sde(dev, flow, zd, grid, so);
  const fs::DeviceCounters c = dev.counters();
  EXPECT_LE(ft::max_abs_diff(zc, zd), ft::exact_or(1e-2));
  // The corrector's step size needs two mean norms: one scalar read per corrector step.
  EXPECT_LE(c.synchronizations, std::uint64_t(r.steps)) << ft::describe(c);
  EXPECT_LE(c.download_bytes, 16u * std::uint64_t(r.steps)) << ft::describe(c);
}
