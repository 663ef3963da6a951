// The single-process Communicator, the row shards, and random draws keyed by
// the global row index (what lets P ranks write the bytes of one process).
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "flowsampler/core/communicator.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/core/particle_set.hpp"
#include "flowsampler/core/random.hpp"
#include "flowsampler/targets/gaussian_mixture.hpp"

namespace fs = flowsampler;

TEST(Shard, ContiguousInRankOrderAndBalanced) {
  for (std::size_t n : {0, 1, 2, 5, 7, 1000, 1001}) {
    for (int p : {1, 2, 3, 4, 7}) {
      std::size_t next = 0, smallest = n, largest = 0;
      for (int r = 0; r < p; ++r) {
        const fs::Shard s = fs::shard_of(n, r, p);
        EXPECT_EQ(s.first, next) << "n=" << n << " p=" << p << " r=" << r;
        next += s.count;
        smallest = std::min(smallest, s.count);
        largest = std::max(largest, s.count);
      }
      EXPECT_EQ(next, n);
      EXPECT_LE(largest - smallest, 1u);  // balanced; with n < p some ranks own nothing
    }
  }
  EXPECT_THROW(fs::shard_of(10, 3, 3), fs::Error);
  EXPECT_THROW(fs::shard_of(10, 0, 0), fs::Error);
}

TEST(Communicator, OneProcessCollectivesAreTheIdentity) {
  const fs::Communicator c;
  EXPECT_EQ(c.rank(), 0);
  EXPECT_EQ(c.size(), 1);
  EXPECT_TRUE(c.is_root());
  const std::vector<double> v{1.5, -2, 3};
  EXPECT_EQ(c.sum(v), v);
  EXPECT_EQ(c.max(v), v);
  EXPECT_EQ(c.all_gather(std::vector<float>{1, 2}), (std::vector<float>{1, 2}));
  EXPECT_EQ(c.gather(std::vector<int>{4}), (std::vector<int>{4}));
  const fs::Shard s = c.shard(17);
  EXPECT_EQ(s.first, 0u);
  EXPECT_EQ(s.count, 17u);
  // Outside a launcher the world is this process alone.
  EXPECT_EQ(fs::Communicator::world().size(), 1);
}

TEST(ShardRows, TakesTheRowsAndKeepsTheirGlobalIndex) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 1);
  std::vector<double> rows(7 * 3);
  std::iota(rows.begin(), rows.end(), 0.0);
  const auto x = fs::ParticleSet<double>::from_row_major(ctx, rows.data(), 7, 3);
  const auto part = fs::shard_rows(ctx, x, {2, 4});
  ASSERT_EQ(part.n(), 4u);
  EXPECT_EQ(part.first_row(), 2u);
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t k = 0; k < 3; ++k) EXPECT_EQ(part.at(i, k), rows[(2 + i) * 3 + k]);
  EXPECT_EQ(fs::shard_rows(ctx, part, {1, 2}).first_row(), 3u);  // a shard of a shard counts from the cloud
  EXPECT_EQ(fs::shard_rows(ctx, x, {7, 0}).n(), 0u);
  EXPECT_THROW(fs::shard_rows(ctx, x, {5, 3}), fs::Error);
}

// Row i of a shard starting at global row f draws what row f + i of the whole
// cloud draws: for every fill and for Gaussian-mixture samples.
TEST(ShardedDraws, EqualTheRowsOfTheWholeCloud) {
  const std::size_t n = 1001, d = 3;
  fs::targets::GaussianMixture gmm(d);
  gmm.add(0.3, {1, 2, 3}, {0.5});
  gmm.add(0.7, {-1, 0, 1}, {2.0});
  for (int which = 0; which < 3; ++which) {
    fs::Context whole_ctx = fs::Context::create(fs::Backend::cpu, 42);
    fs::ParticleSet<float> whole(whole_ctx, n, d);
    if (which == 0) fs::fill_normal(whole_ctx, whole);
    if (which == 1) fs::fill_uniform(whole_ctx, whole);
    if (which == 2) whole = gmm.sample<float>(whole_ctx, n);
    for (int p : {2, 3}) {
      for (int r = 0; r < p; ++r) {
        const fs::Shard s = fs::shard_of(n, r, p);
        fs::Context ctx = fs::Context::create(fs::Backend::cpu, 42);
        fs::ParticleSet<float> part(ctx, s.count, d);
        part.set_first_row(s.first);
        if (which == 0) fs::fill_normal(ctx, part);
        if (which == 1) fs::fill_uniform(ctx, part);
        if (which == 2) part = gmm.sample<float>(ctx, s.count, s.first);
        for (std::size_t i = 0; i < s.count; ++i)
          for (std::size_t k = 0; k < d; ++k)
            ASSERT_EQ(part.at(i, k), whole.at(s.first + i, k)) << "fill " << which << " p=" << p << " r=" << r;
      }
    }
  }
}
