#include <Random123/philox.h>
#include <gtest/gtest.h>

#include "typed.hpp"

#include <cmath>
#include <cstring>

#include "flowsampler/core/error.hpp"
#include "flowsampler/core/random.hpp"
#include "random/philox.hpp"

namespace fs = flowsampler;

// Our Philox is checked against Random123's (the reference implementation) and
// its published known-answer vectors.
TEST(Philox, MatchesRandom123AndKnownAnswers) {
  struct Kat {
    std::uint32_t c[4], k[2], out[4];
  };
  const Kat kats[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}}};
  for (const Kat& kat : kats) {
    const auto got = fs::kernels::philox4x32_10({{kat.c[0], kat.c[1], kat.c[2], kat.c[3]}}, kat.k[0], kat.k[1]);
    for (int j = 0; j < 4; ++j) EXPECT_EQ(got.v[j], kat.out[j]);
  }
  r123::Philox4x32 ref;
  for (std::uint32_t t = 0; t < 1000; ++t) {
    const r123::Philox4x32::ctr_type c = {{t, t * 7919u, ~t, t ^ 0xdeadbeefu}};
    const r123::Philox4x32::key_type k = {{t * 31u, 0x12345678u + t}};
    const auto want = ref(c, k);
    const auto got = fs::kernels::philox4x32_10({{c[0], c[1], c[2], c[3]}}, k[0], k[1]);
    for (int j = 0; j < 4; ++j) ASSERT_EQ(got.v[j], want[j]) << "t=" << t;
  }
}

template <class Real>
class RandomTest : public ::testing::Test {};
using flowsampler::test::Reals;
TYPED_TEST_SUITE(RandomTest, Reals);

// The numbers of particle i depend on (seed, i, draw) only: not on N or threads.
TYPED_TEST(RandomTest, PrefixOfALargerRunIsBitIdenticalAcrossThreadCounts) {
  using Real = TypeParam;
  for (int kind = 0; kind < 2; ++kind) {
    std::vector<std::vector<Real>> runs;
    for (int threads : {1, 2})
      for (std::size_t n : {1000u, 2000u}) {
        fs::Context ctx = fs::Context::create(fs::Backend::cpu, 42, threads);
        fs::ParticleSet<Real> x(ctx, n, 5);
        (void)ctx.next_draw();  // a second draw, to check the counter is used
        kind ? fs::fill_normal(ctx, x) : fs::fill_uniform(ctx, x);
        std::vector<Real> first(1000 * 5);
        for (std::size_t k = 0; k < 5; ++k)
          for (std::size_t i = 0; i < 1000; ++i) first[k * 1000 + i] = x.at(i, k);
        runs.push_back(first);
      }
    for (std::size_t r = 1; r < runs.size(); ++r)
      ASSERT_EQ(std::memcmp(runs[0].data(), runs[r].data(), runs[0].size() * sizeof(Real)), 0) << "run " << r;
  }
}

TYPED_TEST(RandomTest, SeedsAndDrawsGiveDifferentStreams) {
  using Real = TypeParam;
  fs::Context a = fs::Context::create(fs::Backend::cpu, 1), b = fs::Context::create(fs::Backend::cpu, 2);
  fs::ParticleSet<Real> x(a, 100, 2), y(a, 100, 2), z(a, 100, 2);
  fs::fill_normal(a, x);
  fs::fill_normal(a, y);  // next draw of the same seed
  fs::fill_normal(b, z);  // other seed
  EXPECT_NE(x.to_host(), y.to_host());
  EXPECT_NE(x.to_host(), z.to_host());
}

// Moments of N(0, 1) and U(0, 1] within 5 standard errors, and the support.
TYPED_TEST(RandomTest, DistributionsHaveTheRightMoments) {
  using Real = TypeParam;
  fs::Context ctx = fs::Context::create(fs::Backend::cpu, 2024);
  const std::size_t n = 1 << 16, d = 4, total = n * d;
  fs::ParticleSet<Real> g(ctx, n, d), u(ctx, n, d);
  fs::fill_normal(ctx, g);
  fs::fill_uniform(ctx, u);
  double m1 = 0, m2 = 0, m4 = 0, um = 0, corr = 0;
  for (std::size_t e = 0; e < total; ++e) {
    const double v = g.data()[e];
    ASSERT_TRUE(std::isfinite(v));
    m1 += v, m2 += v * v, m4 += v * v * v * v;
    const double w = u.data()[e];
    ASSERT_GT(w, 0.0);
    ASSERT_LE(w, 1.0);
    um += w;
  }
  for (std::size_t i = 0; i < n; ++i) corr += double(g.at(i, 0)) * double(g.at(i, 1));  // cos/sin pair
  const double N = double(total);
  EXPECT_NEAR(m1 / N, 0.0, 5 / std::sqrt(N));
  EXPECT_NEAR(m2 / N, 1.0, 5 * std::sqrt(2.0 / N));
  EXPECT_NEAR(m4 / N, 3.0, 5 * std::sqrt(96.0 / N));
  EXPECT_NEAR(um / N, 0.5, 5 * std::sqrt(1.0 / 12 / N));
  EXPECT_NEAR(corr / double(n), 0.0, 5 / std::sqrt(double(n)));
}

TEST(Categorical, FrequenciesMatchWeightsAndZeroWeightsAreNeverDrawn) {
  fs::Context ctx = fs::Context::create(fs::Backend::cpu, 9);
  const std::vector<double> w = {1, 0, 3, 6};
  const std::size_t n = 200000;
  const auto draws = fs::categorical(ctx, w, n);
  std::vector<double> count(4, 0);
  for (auto k : draws) {
    ASSERT_LT(k, 4u);
    count[k] += 1;
  }
  EXPECT_EQ(count[1], 0);
  for (int k : {0, 2, 3}) {
    const double p = w[k] / 10;
    EXPECT_NEAR(count[k] / n, p, 5 * std::sqrt(p * (1 - p) / n)) << k;
  }
  // Prefix property, as for the fills.
  fs::Context again = fs::Context::create(fs::Backend::cpu, 9, 1);
  const auto head = fs::categorical(again, w, 1000);
  EXPECT_TRUE(std::equal(head.begin(), head.end(), draws.begin()));
}

TEST(Categorical, RejectsBadWeights) {
  fs::Context ctx = fs::Context::create(fs::Backend::cpu);
  EXPECT_THROW(fs::categorical(ctx, {}, 3), fs::Error);
  EXPECT_THROW(fs::categorical(ctx, {1, -1}, 3), fs::Error);
  EXPECT_THROW(fs::categorical(ctx, {0, 0}, 3), fs::Error);
  EXPECT_THROW(fs::categorical(ctx, {1, NAN}, 3), fs::Error);
}
