// The CUDA kernel body of column sums (kernels/reduce/column_sum.hpp) runs here
// under the fiber emulator and is compared with the CPU backend.
#include <gtest/gtest.h>

#include <tuple>

#include "flowsampler/metrics/moments.hpp"
#include "reduce/column_sum.hpp"
#include "simt/fiber_context.hpp"

namespace fs = flowsampler;

class ColumnSumSimt : public ::testing::TestWithParam<std::tuple<std::size_t, std::size_t, unsigned, unsigned>> {};

TEST_P(ColumnSumSimt, EmulatedBodyEqualsCpuBackend) {
  const auto [n, d, block, permute] = GetParam();
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu);
  std::vector<double> rows(n * d);
  for (std::size_t e = 0; e < rows.size(); ++e) rows[e] = double((e * 7919) % 1013) - 500;
  const auto x = fs::ParticleSet<double>::from_row_major(ctx, rows.data(), n, d);
  const std::size_t rows_per_block = 3 * block + 5;  // not a multiple of the block
  const std::size_t blocks = d * ((n + rows_per_block - 1) / rows_per_block);
  std::vector<double> partial(blocks, 0);
  fs::simt::LaunchConfig cfg;
  cfg.grid = static_cast<unsigned>(blocks);
  cfg.block = block;
  cfg.shared_bytes = fs::kernels::ColumnSumBody::shared_bytes<double>(block);
  cfg.permute_seed = permute;
  fs::simt::launch<fs::kernels::ColumnSumBody>(cfg, x.data(), n, d, rows_per_block, partial.data());
  std::vector<double> got(d, 0);
  for (std::size_t b = 0; b < blocks; ++b) got[b % d] += partial[b];
  EXPECT_EQ(got, fs::metrics::column_sums(ctx, x));
}

INSTANTIATE_TEST_SUITE_P(Sizes, ColumnSumSimt,
                         ::testing::Values(std::make_tuple(1, 1, 32, 0), std::make_tuple(33, 2, 32, 0),
                                           std::make_tuple(1000, 3, 64, 7), std::make_tuple(4099, 1, 128, 11),
                                           std::make_tuple(257, 5, 256, 3)));

// A body that forgets its barrier reads stale shared memory under permuted starts:
// the emulator must make such a bug visible rather than hide it.
struct MissingBarrierBody {
  template <class Ctx>
  static void run(Ctx& ctx, int* out) {
    int* s = ctx.template shared<int>();
    s[ctx.thread()] = static_cast<int>(ctx.thread());
    // no ctx.sync() here
    out[ctx.thread()] = s[(ctx.thread() + 1) % ctx.block_dim()];
  }
};

TEST(SimtEmulator, ExposesAMissingBarrier) {
  std::vector<int> out(64, -1);
  fs::simt::LaunchConfig cfg;
  cfg.block = 64;
  cfg.shared_bytes = 64 * sizeof(int);
  cfg.permute_seed = 1;
  fs::simt::launch<MissingBarrierBody>(cfg, out.data());
  int wrong = 0;
  for (int t = 0; t < 64; ++t) wrong += out[t] != (t + 1) % 64;
  EXPECT_GT(wrong, 0);
}
