// The CUDA kernel bodies of the backend table's reductions
// (kernels/reduce/reduce_body.hpp) run here under the fiber emulator and are
// compared with the CPU backend's reduction of the same functor.
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

#include "cloud/column_sums.hpp"
#include "flowsampler/metrics/moments.hpp"
#include "reduce/reduce_body.hpp"
#include "simt/fiber_context.hpp"

namespace fs = flowsampler;

namespace {

// Runs the two device stages of a reduction of f over n indices.
template <class F>
std::vector<double> emulated_reduce(const F& f, std::size_t n, int width, bool max, unsigned grid, unsigned block,
                                    unsigned permute) {
  std::vector<double> partial(grid * static_cast<std::size_t>(width), std::nan("")), out(width, std::nan(""));
  fs::simt::LaunchConfig cfg;
  cfg.grid = grid;
  cfg.block = block;
  cfg.shared_bytes = fs::kernels::ReduceBody<F>::shared_bytes(block, width);
  cfg.permute_seed = permute;
  fs::simt::launch<fs::kernels::ReduceBody<F>>(cfg, f, n, width, max, partial.data());
  fs::simt::LaunchConfig fin;
  fin.block = 32;
  fs::simt::launch<fs::kernels::ReduceFinishBody>(fin, static_cast<const double*>(partial.data()), grid, width, max,
                                                   out.data());
  return out;
}

// The largest |x| of each column: a max reduction.
struct ColumnMaxAbs {
  static constexpr bool max = true;
  const double* x;
  std::size_t n;
  int width;
  void operator()(std::size_t i, double* acc) const {
    for (int k = 0; k < width; ++k) acc[k] = fs::kernels::fold_merge(acc[k], std::fabs(x[k * n + i]), true);
  }
};

}  // namespace

class ReduceSimt : public ::testing::TestWithParam<std::tuple<std::size_t, int, unsigned, unsigned, unsigned>> {};

TEST_P(ReduceSimt, EmulatedBodiesEqualCpuBackend) {
  const auto [n, d, grid, block, permute] = GetParam();
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu);
  std::vector<double> rows(n * d);
  for (std::size_t e = 0; e < rows.size(); ++e) rows[e] = double((e * 7919) % 1013) - 500;  // integers: sums exact
  const auto x = fs::ParticleSet<double>::from_row_major(ctx, rows.data(), n, d);
  const auto sums = emulated_reduce(fs::kernels::ColumnSums<double>{x.data(), n, 0, d}, n, d, false, grid, block, permute);
  EXPECT_EQ(sums, fs::metrics::column_sums(ctx, x));
  const auto maxima = emulated_reduce(ColumnMaxAbs{x.data(), n, d}, n, d, true, grid, block, permute);
  for (int k = 0; k < d; ++k) {
    double m = 0;
    for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(x.at(i, k)));
    EXPECT_EQ(maxima[k], m) << "column " << k;
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, ReduceSimt,
                         ::testing::Values(std::make_tuple(1, 1, 1, 32, 0), std::make_tuple(33, 2, 2, 32, 0),
                                           std::make_tuple(1000, 3, 3, 64, 7), std::make_tuple(4099, 1, 5, 128, 11),
                                           std::make_tuple(257, 5, 4, 256, 3), std::make_tuple(100, 32, 2, 64, 5)));

TEST(ReduceSimt, NanWinsAMax) {
  std::vector<double> x = {1, std::nan(""), 3, 2};
  const auto got = emulated_reduce(ColumnMaxAbs{x.data(), 4, 1}, 4, 1, true, 2, 32, 0);
  EXPECT_TRUE(std::isnan(got[0]));
}
