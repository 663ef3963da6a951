#include <gtest/gtest.h>

#include "flowsampler/core/context.hpp"
#include "flowsampler/core/error.hpp"

namespace fs = flowsampler;

TEST(Context, CpuBackendDescribesItself) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 7, 2);
  EXPECT_EQ(ctx.backend(), fs::Backend::cpu);
  EXPECT_EQ(ctx.threads(), 2);
  EXPECT_EQ(ctx.seed(), 7u);
  EXPECT_NE(ctx.describe().find("backend cpu"), std::string::npos) << ctx.describe();
  EXPECT_NE(ctx.describe().find("2 OpenMP threads"), std::string::npos) << ctx.describe();
}

TEST(Context, AutomaticFallsBackToCpuWithoutDevice) {
  const fs::Context ctx = fs::Context::create(fs::Backend::automatic);
  if (fs::cuda_device_count() == 0)
    EXPECT_EQ(ctx.backend(), fs::Backend::cpu);
  else
    EXPECT_EQ(ctx.backend(), fs::Backend::cuda);
  EXPECT_GE(ctx.threads(), 1);
}

TEST(Context, ForcedCudaWithoutDeviceIsAClearError) {
  if (fs::cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device answers here";
  try {
    (void)fs::Context::create(fs::Backend::cuda);
    FAIL() << "expected flowsampler::Error";
  } catch (const fs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA device"), std::string::npos) << e.what();
  }
}

TEST(Context, DrawCounterAdvancesAndResetsWithSeed) {
  fs::Context ctx = fs::Context::create(fs::Backend::cpu, 1);
  EXPECT_EQ(ctx.next_draw(), 0u);
  EXPECT_EQ(ctx.next_draw(), 1u);
  ctx.set_seed(3);
  EXPECT_EQ(ctx.next_draw(), 0u);
}

TEST(Context, ParseBackend) {
  EXPECT_EQ(fs::parse_backend("cpu"), fs::Backend::cpu);
  EXPECT_EQ(fs::parse_backend("auto"), fs::Backend::automatic);
  EXPECT_EQ(fs::parse_backend("cuda"), fs::Backend::cuda);
  EXPECT_THROW(fs::parse_backend("tpu", "--backend"), fs::Error);
}
