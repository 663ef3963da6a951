#include <gtest/gtest.h>

#include "typed.hpp"

#include "flowsampler/core/error.hpp"
#include "flowsampler/core/particle_set.hpp"

namespace fs = flowsampler;

template <class Real>
class ParticleSetTest : public ::testing::Test {};
using flowsampler::test::Reals;
TYPED_TEST_SUITE(ParticleSetTest, Reals);

TYPED_TEST(ParticleSetTest, RowMajorRoundTripIsColumnMajorInside) {
  using Real = TypeParam;
  const fs::Context ctx = fs::Context::create(fs::Backend::automatic);
  const std::size_t n = 5, d = 3;
  std::vector<Real> rows(n * d);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < d; ++k) rows[i * d + k] = Real(10 * i + k);
  const auto x = fs::ParticleSet<Real>::from_row_major(ctx, rows.data(), n, d);
  EXPECT_EQ(x.n(), n);
  EXPECT_EQ(x.d(), d);
  const std::vector<Real> cols = x.to_host();
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < d; ++k) EXPECT_EQ(cols[k * n + i], Real(10 * i + k));
  EXPECT_EQ(x.to_row_major(), rows);
  const auto y = x.copy(ctx);
  EXPECT_EQ(y.to_row_major(), rows);
}

TYPED_TEST(ParticleSetTest, AtChecksBoundsAndEmptySetsAreAllowed) {
  using Real = TypeParam;
  fs::ParticleSet<Real> x(2, 2, fs::Memory::host);
  x.at(1, 1) = Real(4);
  EXPECT_EQ(x.data()[3], Real(4));
  EXPECT_THROW(x.at(2, 0), fs::Error);
  EXPECT_THROW(x.at(0, 2), fs::Error);
  fs::ParticleSet<Real> empty(0, 3, fs::Memory::host);
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_TRUE(empty.to_row_major().empty());
  EXPECT_THROW((fs::ParticleSet<Real>(3, 0, fs::Memory::host)), fs::Error);
  EXPECT_THROW((fs::ParticleSet<Real>(SIZE_MAX / 2, 3, fs::Memory::host)), fs::Error);
}

// A view reads the caller's memory in place and never frees it: the caller's
// vector outlives the view, its moves and its destruction (ASan would catch a
// free of memory the view does not own).
TYPED_TEST(ParticleSetTest, ViewSharesTheCallersMemoryAndLeavesItAlive) {
  using Real = TypeParam;
  const fs::Context cpu = fs::Context::create(fs::Backend::cpu);
  const std::size_t n = 4, d = 2;
  std::vector<Real> cols = {1, 2, 3, 4, 10, 20, 30, 40};
  {
    const auto v = fs::ParticleSet<Real>::view(cols.data(), n, d);
    EXPECT_EQ(v.data(), cols.data());
    EXPECT_EQ(v.memory(), fs::Memory::host);
    EXPECT_TRUE(v.belongs_to(cpu));
    EXPECT_EQ(v.at(2, 1), Real(30));
    fs::ParticleSet<Real> moved = std::move(const_cast<fs::ParticleSet<Real>&>(v));
    EXPECT_EQ(moved.data(), cols.data());
    const auto copy = moved.copy(cpu);  // a copy owns new memory
    EXPECT_NE(copy.data(), cols.data());
    EXPECT_EQ(copy.to_host(), cols);
  }
  cols[0] = 5;  // still the caller's, still alive
  EXPECT_EQ(cols[0], Real(5));
  EXPECT_THROW(fs::ParticleSet<Real>::view(nullptr, n, d), fs::Error);
}
