// The device emulator itself: device memory the host cannot touch, counted
// transfers, a pool that stops allocating once warm, and the core kernels of
// the backend table equal to the CPU backend's.
#include <gtest/gtest.h>

#include "device/device_testing.hpp"
#include "flowsampler/core/random.hpp"
#include "flowsampler/metrics/moments.hpp"

namespace fs = flowsampler;
namespace ft = flowsampler::test;

TEST(Emulator, IsADeviceBackend) {
  const fs::Context ctx = ft::emulator();
  EXPECT_EQ(ctx.backend(), ft::on_gpu() ? fs::Backend::cuda : fs::Backend::emulator);
  EXPECT_TRUE(ctx.on_device());
  if (!ft::on_gpu()) {
    EXPECT_NE(ctx.describe().find("emulator"), std::string::npos) << ctx.describe();
  }
  EXPECT_EQ(fs::parse_backend("emulator"), fs::Backend::emulator);
  const fs::ParticleSet<float> x(ctx, 10, 2);
  EXPECT_EQ(x.memory(), fs::Memory::device);
  EXPECT_TRUE(x.belongs_to(ctx));
  EXPECT_FALSE(x.belongs_to(ft::emulator()));  // another emulator's memory is another device
}

TEST(Emulator, RoundTripsAndCountsTransfers) {
  fs::Context ctx = ft::emulator();
  std::vector<double> rows = {1, 2, 3, 4, 5, 6};
  const auto x = fs::ParticleSet<double>::from_row_major(ctx, rows.data(), 3, 2);
  EXPECT_EQ(x.to_row_major(), rows);
  const fs::DeviceCounters c = ctx.counters();
  EXPECT_EQ(c.uploads, 1u);
  EXPECT_EQ(c.upload_bytes, 48u);
  EXPECT_EQ(c.downloads, 1u);
  EXPECT_EQ(c.download_bytes, 48u);
  EXPECT_GE(c.synchronizations, 1u);
  const auto y = x.copy(ctx);  // on the device: no transfer
  EXPECT_EQ(ctx.counters().transfer_bytes(), 96u);
  EXPECT_EQ(ctx.counters().device_copies, 1u);
  ctx.reset_counters();
  EXPECT_EQ(ctx.counters().uploads, 0u);
}

TEST(Emulator, PoolReusesBlocksWithoutAllocating) {
  const fs::Context ctx = ft::emulator();
  { fs::ParticleSet<float> warm(ctx, 1000, 3); }
  const fs::DeviceCounters before = ctx.counters();
  for (int k = 0; k < 10; ++k) fs::ParticleSet<float> again(ctx, 1000, 3);
  const fs::DeviceCounters d = ctx.counters() - before;
  EXPECT_EQ(d.allocations, 0u) << ft::describe(d);
  EXPECT_EQ(d.pool_requests, 10u);
}

TEST(Emulator, ParticleSetsOutliveTheirContext) {
  fs::ParticleSet<float> x;
  {
    const fs::Context ctx = ft::emulator();
    x = fs::ParticleSet<float>(ctx, 5, 1);
    std::vector<float> v(5, 2.5f);
    x = fs::ParticleSet<float>::from_column_major(ctx, v.data(), 5, 1);
  }
  EXPECT_EQ(x.to_host(), std::vector<float>(5, 2.5f));  // the arena lives as long as its blocks
}

TEST(Emulator, RandomFillsEqualTheCpuBackendBitForBit) {
  fs::Context dev = ft::emulator(42), cpu = ft::cpu(42);
  fs::ParticleSet<float> a(dev, 1001, 3), b(cpu, 1001, 3);
  fs::fill_normal(dev, a);
  fs::fill_normal(cpu, b);
  EXPECT_LE(ft::max_abs_diff(a, b), ft::exact_or(1e-5));  // a GPU's log/sqrt/sincos round differently
  fs::fill_uniform(dev, a);
  fs::fill_uniform(cpu, b);
  EXPECT_EQ(a.to_host(), b.to_host());
  EXPECT_EQ(dev.counters().uploads, 0u);  // drawn on the device
}

TEST(Emulator, MomentsEqualTheCpuBackendAndReadOnlyScalars) {
  fs::Context cpu = ft::cpu(3), dev = ft::emulator(3);
  fs::ParticleSet<double> x(cpu, 70001, 40);
  fs::fill_normal(cpu, x);
  const auto xd = ft::on(dev, x);
  dev.reset_counters();
  const std::vector<double> s0 = fs::metrics::column_sums(cpu, x), s1 = fs::metrics::column_sums(dev, xd);
  for (std::size_t k = 0; k < s0.size(); ++k)  // fixed-order chunked sums: the same bits on the emulator
    EXPECT_NEAR(s0[k], s1[k], ft::exact_or(1e-9 * 70001));
  const auto c0 = fs::metrics::covariance(cpu, x), c1 = fs::metrics::covariance(dev, xd);
  for (std::size_t e = 0; e < c0.size(); ++e) EXPECT_NEAR(c0[e], c1[e], 1e-12);
  EXPECT_TRUE(ft::within(dev.counters(), {/*transfer_bytes=*/64 * 40 * 40}));
}

TEST(Emulator, BudgetCheckCatchesAStrayCopy) {
  fs::Context ctx = ft::emulator();
  fs::ParticleSet<float> x(ctx, 4096, 2);
  fs::fill_normal(ctx, x);
  ctx.reset_counters();
  (void)fs::metrics::mean(ctx, x);
  EXPECT_TRUE(ft::within(ctx.counters(), {/*transfer_bytes=*/64}));
  (void)x.to_host();  // a stray copy of the cloud
  EXPECT_FALSE(ft::within(ctx.counters(), {/*transfer_bytes=*/64}));
}

using EmulatorDeathTest = ::testing::Test;

TEST(EmulatorDeathTest, HostAccessToDeviceMemoryDiesWithAMessage) {
  if (ft::on_gpu()) GTEST_SKIP() << "the protected arena is the emulator's";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        const fs::Context ctx = ft::emulator();
        fs::ParticleSet<float> x(ctx, 100, 2);
        x.data()[7] = 1.0f;  // host code writing device memory
      },
      "host code touched device memory");
  EXPECT_DEATH(
      {
        const fs::Context ctx = ft::emulator();
        std::vector<float> v(10, 1.0f);
        const auto x = fs::ParticleSet<float>::from_column_major(ctx, v.data(), 10, 1);
        volatile float r = x.data()[3];  // host code reading device memory
        (void)r;
      },
      "host code touched device memory");
}

TEST(Emulator, HostAccessOfDeviceSetsIsRefusedByTheApi) {
  const fs::Context ctx = ft::emulator();
  fs::ParticleSet<float> x(ctx, 3, 1);
  EXPECT_THROW(x.at(0, 0), fs::Error);
}
