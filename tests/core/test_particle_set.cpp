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
