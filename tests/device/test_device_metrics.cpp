// The metrics on the device emulator: every metric equals the CPU backend's on
// the same clouds (within the tolerances below, float and double), and keeps
// its clouds on the device: only scalars (one per Sinkhorn iteration, one per
// group of 32 sliced-W2 directions) and small tables (P x d directions, d
// values of a centre) cross between host and device.
//
// Tolerances are relative: the emulator runs the CPU's loops, so today the
// results agree to the last bit; on a GPU the sums run in another order
// (kernel sums, soft-mins, gemm), hence 1e-9 in double and 1e-4 in float.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>

#include "core/lincomb.hpp"
#include "device/device_testing.hpp"
#include "flowsampler/core/random.hpp"
#include "flowsampler/metrics/exact_w2.hpp"
#include "flowsampler/metrics/fisher.hpp"
#include "flowsampler/metrics/gaussian_w2.hpp"
#include "flowsampler/metrics/knn.hpp"
#include "flowsampler/metrics/map_distance.hpp"
#include "flowsampler/metrics/mmd.hpp"
#include "flowsampler/metrics/sinkhorn.hpp"
#include "flowsampler/metrics/sliced_w2.hpp"
#include "typed.hpp"

namespace fs = flowsampler;
namespace fm = flowsampler::metrics;
namespace ft = flowsampler::test;

namespace {

template <class Real>
double rel_tol() {
  return sizeof(Real) == 4 ? 1e-4 : 1e-9;
}

// |a - b| <= tol max(1, |b|).
::testing::AssertionResult close(double a, double b, double tol) {
  if (std::fabs(a - b) <= tol * std::max(1.0, std::fabs(b))) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << a << " vs " << b << " (tolerance " << tol << " relative)";
}

// An n x d cloud N(shift, scale^2 I) on the CPU context.
template <class Real>
fs::ParticleSet<Real> cloud(fs::Context& cpu, std::size_t n, std::size_t d, double shift = 0, double scale = 1) {
  fs::ParticleSet<Real> x(cpu, n, d);
  fs::fill_normal(cpu, x);
  for (std::size_t e = 0; e < x.size(); ++e) x.data()[e] = static_cast<Real>(shift + scale * double(x.data()[e]));
  return x;
}

// A pair of clouds on the CPU and the same on the emulator.
template <class Real>
struct Pair {
  fs::Context cpu = ft::cpu(11), dev = ft::emulator(11);
  fs::ParticleSet<Real> x, y, xd, yd;
  Pair(std::size_t n, std::size_t m, std::size_t d) {
    x = cloud<Real>(cpu, n, d);
    y = cloud<Real>(cpu, m, d, 0.5, 0.8);
    xd = ft::on(dev, x);
    yd = ft::on(dev, y);
    dev.reset_counters();
  }
};

template <class Real>
class DeviceMetrics : public ::testing::Test {};
TYPED_TEST_SUITE(DeviceMetrics, ft::Reals);

}  // namespace

TYPED_TEST(DeviceMetrics, SinkhornEqualsTheCpuWithOneScalarReadPerIteration) {
  using Real = TypeParam;
  Pair<Real> p(2000, 2000, 2);
  fm::SinkhornOptions o;
  o.eps = 0.5;
  o.tol = 1e-4;
  o.debias = false;
  const auto a = fm::sinkhorn(p.cpu, p.x, p.y, o);
  const auto b = fm::sinkhorn(p.dev, p.xd, p.yd, o);
  const fs::DeviceCounters c = p.dev.counters();
  EXPECT_TRUE(close(b.ot, a.ot, rel_tol<Real>()));
  EXPECT_TRUE(close(b.cost, a.cost, rel_tol<Real>()));
  EXPECT_NEAR(b.iterations, a.iterations, 2);
  EXPECT_EQ(b.stages, a.stages);
  EXPECT_LT(b.marginal_error, o.tol);
  EXPECT_TRUE(b.f.belongs_to(p.dev) && b.g.belongs_to(p.dev));
  EXPECT_LE(ft::max_abs_diff(b.f, a.f), rel_tol<Real>() * 10);
  EXPECT_LE(ft::max_abs_diff(b.g, a.g), rel_tol<Real>() * 10);
  // Per iteration: one 8-byte scalar read and nothing else. Besides: the two
  // bounding boxes and the mean of x (2d, 2d and d doubles), the centre's
  // upload (d doubles), the cost and the two means of the potentials.
  const std::uint64_t d = 2, fixed = 8 * (6 * d + 3), iters = static_cast<std::uint64_t>(b.iterations);
  EXPECT_TRUE(ft::within(c, {/*transfer_bytes=*/8 * iters + fixed, /*uploads=*/1, /*downloads=*/iters + 6,
                             /*allocations=*/ft::Budget{}.allocations, /*synchronizations=*/iters + 6}));
  EXPECT_LT(c.transfer_bytes(), 2000 * sizeof(Real));  // less than one column of a cloud
  // Once the pool is warm (and the potentials of the last solve are gone),
  // a solve allocates nothing: no allocation inside the loop.
  (void)fm::sinkhorn(p.dev, p.xd, p.yd, o);
  p.dev.reset_counters();
  (void)fm::sinkhorn(p.dev, p.xd, p.yd, o);
  EXPECT_EQ(p.dev.counters().allocations, 0u) << ft::describe(p.dev.counters());
}

TYPED_TEST(DeviceMetrics, SinkhornDivergenceSelfPotentialAndBarycentricProjection) {
  using Real = TypeParam;
  Pair<Real> p(300, 250, 3);
  fm::SinkhornOptions o;
  o.eps = 0.2;
  const auto a = fm::sinkhorn(p.cpu, p.x, p.y, o);
  const auto b = fm::sinkhorn(p.dev, p.xd, p.yd, o);
  EXPECT_TRUE(close(b.divergence, a.divergence, rel_tol<Real>()));
  EXPECT_TRUE(close(b.ot, a.ot, rel_tol<Real>()));
  // Debiased: three problems, still only scalars (and the centre) cross.
  EXPECT_TRUE(ft::within(p.dev.counters(), {/*transfer_bytes=*/2048, /*uploads=*/1}));
  EXPECT_LT(p.dev.counters().transfer_bytes(), p.x.size() * sizeof(Real));

  p.dev.reset_counters();
  const auto pa = fm::sinkhorn_self_potential(p.cpu, p.x, o);
  const auto pb = fm::sinkhorn_self_potential(p.dev, p.xd, o);
  EXPECT_TRUE(pb.belongs_to(p.dev));
  EXPECT_LE(ft::max_abs_diff(pb, pa), rel_tol<Real>() * 10);
  EXPECT_LT(p.dev.counters().transfer_bytes(), p.x.size() * sizeof(Real));

  p.dev.reset_counters();
  const auto ta = fm::barycentric_projection(p.cpu, p.x, p.y, a.g, o.eps);
  const auto tb = fm::barycentric_projection(p.dev, p.xd, p.yd, b.g, o.eps);
  EXPECT_EQ(p.dev.counters().transfer_bytes(), 0u) << ft::describe(p.dev.counters());
  EXPECT_EQ(p.dev.counters().synchronizations, 0u);
  EXPECT_TRUE(tb.belongs_to(p.dev));
  EXPECT_LE(ft::max_abs_diff(tb, ta), rel_tol<Real>() * 10);
}

TYPED_TEST(DeviceMetrics, SlicedW2EqualsTheCpuAndMovesOnlyTheDirections) {
  using Real = TypeParam;
  const std::size_t d = 5;
  const int P = 64;
  for (const auto& [n, m] : {std::pair<std::size_t, std::size_t>{3000, 3000}, {3000, 2000}, {1500, 2500}}) {
    Pair<Real> p(n, m, d);
    const auto a = fm::sliced_w2(p.cpu, p.x, p.y, P, 5);
    const auto b = fm::sliced_w2(p.dev, p.xd, p.yd, P, 5);
    EXPECT_TRUE(close(b.w2_squared, a.w2_squared, rel_tol<Real>())) << n << " x " << m;
    EXPECT_TRUE(close(b.std_error, a.std_error, rel_tol<Real>())) << n << " x " << m;
    // Up: the P x d directions once. Down: P values, 32 directions per read.
    EXPECT_TRUE(ft::within(p.dev.counters(), {/*transfer_bytes=*/P * d * sizeof(Real) + 8 * P, /*uploads=*/1,
                                              /*downloads=*/(P + 31) / 32}))
        << n << " x " << m;
  }
}

// With d = 1 and one direction (theta = +-1) sliced W2 is the 1-D W2 of the
// clouds: the device's parallel quantile form against the sequential
// w2_squared_1d_sorted, over sizes with every kind of overlap.
TYPED_TEST(DeviceMetrics, SortedW2ReductionEqualsTheSequentialQuantileWalk) {
  using Real = TypeParam;
  const std::size_t sizes[][2] = {{1, 1}, {1, 7}, {7, 1}, {5, 3}, {3, 5}, {100, 37}, {37, 100}, {999, 1000}, {4096, 4096}, {6000, 4}};
  for (const auto& s : sizes) {
    Pair<Real> p(s[0], s[1], 1);
    std::vector<Real> xs = p.x.to_host(), ys = p.y.to_host();
    std::sort(xs.begin(), xs.end());
    std::sort(ys.begin(), ys.end());
    const std::vector<double> u(xs.begin(), xs.end()), v(ys.begin(), ys.end());
    const double want = fm::w2_squared_1d_sorted(u.data(), u.size(), v.data(), v.size());
    EXPECT_TRUE(close(fm::sliced_w2(p.dev, p.xd, p.yd, 1).w2_squared, want, 1e-12)) << s[0] << " x " << s[1];
    EXPECT_TRUE(close(fm::sliced_w2(p.cpu, p.x, p.y, 1).w2_squared, want, 1e-12)) << s[0] << " x " << s[1];
  }
}

TYPED_TEST(DeviceMetrics, MmdAndEnergyReadThreeScalars) {
  using Real = TypeParam;
  Pair<Real> p(1200, 900, 3);
  for (const bool unbiased : {false, true}) {
    p.dev.reset_counters();
    const fs::pairwise::KernelSpec k{fs::pairwise::Kernel::gaussian, 1.0};
    EXPECT_TRUE(close(fm::mmd_squared(p.dev, k, p.xd, p.yd, unbiased), fm::mmd_squared(p.cpu, k, p.x, p.y, unbiased),
                      rel_tol<Real>()));
    EXPECT_TRUE(ft::within(p.dev.counters(), {/*transfer_bytes=*/24, /*uploads=*/0, /*downloads=*/3}));
  }
  p.dev.reset_counters();
  EXPECT_TRUE(close(fm::energy_distance(p.dev, p.xd, p.yd), fm::energy_distance(p.cpu, p.x, p.y), rel_tol<Real>()));
  EXPECT_TRUE(ft::within(p.dev.counters(), {/*transfer_bytes=*/24, /*uploads=*/0, /*downloads=*/3}));
}

TYPED_TEST(DeviceMetrics, KnnEstimatorsReduceOnTheDevice) {
  using Real = TypeParam;
  Pair<Real> p(1500, 1100, 3);
  EXPECT_TRUE(close(fm::knn_entropy(p.dev, p.xd, 4), fm::knn_entropy(p.cpu, p.x, 4), rel_tol<Real>()));
  // Scalars only: the reduction's 3 sums, and for the flatness check the
  // cloud's covariance and mean (d x d + 2d values: 144 B at d = 3).
  EXPECT_TRUE(ft::within(p.dev.counters(), {/*transfer_bytes=*/168, /*uploads=*/1, /*downloads=*/4}));
  p.dev.reset_counters();
  EXPECT_TRUE(close(fm::knn_kl_divergence(p.dev, p.xd, p.yd, 3), fm::knn_kl_divergence(p.cpu, p.x, p.y, 3), rel_tol<Real>()));
  EXPECT_TRUE(ft::within(p.dev.counters(), {/*transfer_bytes=*/336, /*uploads=*/2, /*downloads=*/8}));
  // Duplicate points: the same error, naming the first point, on both.
  std::vector<Real> v(20);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = Real(0.1 * double(i));
  v[13] = v[3];
  for (const fs::Context* ctx : {&p.cpu, &p.dev}) {
    const auto dup = fs::ParticleSet<Real>::from_column_major(*ctx, v.data(), v.size(), 1);
    try {
      (void)fm::knn_entropy(*ctx, dup, 1);
      ADD_FAILURE() << "no error for duplicate points on " << fs::to_string(ctx->backend());
    } catch (const fs::Error& e) {
      EXPECT_NE(std::string(e.what()).find("point 3 has 1 neighbours at distance 0 (duplicate points)"), std::string::npos)
          << e.what();
    }
  }
}

TYPED_TEST(DeviceMetrics, MapDistanceAndLipschitzOnTheDevice) {
  using Real = TypeParam;
  Pair<Real> p(2000, 2000, 3);
  const auto a = fm::map_distance(p.cpu, p.x, p.y), b = fm::map_distance(p.dev, p.xd, p.yd);
  EXPECT_TRUE(close(b.l2, a.l2, rel_tol<Real>()));
  EXPECT_TRUE(close(b.max, a.max, rel_tol<Real>()));
  EXPECT_TRUE(ft::within(p.dev.counters(), {/*transfer_bytes=*/24, /*uploads=*/0, /*downloads=*/2}));
  // A uniform scaling by 2.5, applied where the points are: every ratio is 2.5.
  const auto scale = [](const fs::Context& ctx, double s) {
    return std::function<fs::ParticleSet<Real>(const fs::ParticleSet<Real>&)>(
        [&ctx, s](const fs::ParticleSet<Real>& z) { return fs::detail::lincomb(ctx, z, {}, s); });
  };
  p.dev.reset_counters();
  const auto la = fm::lipschitz_estimate(p.cpu, scale(p.cpu, 2.5), p.x, 1e-2, 9);
  const auto lb = fm::lipschitz_estimate(p.dev, scale(p.dev, 2.5), p.xd, 1e-2, 9);
  EXPECT_TRUE(ft::within(p.dev.counters(), {/*transfer_bytes=*/24, /*uploads=*/0, /*downloads=*/3}));
  EXPECT_TRUE(close(lb.max, la.max, rel_tol<Real>()));
  EXPECT_TRUE(close(lb.mean, la.mean, rel_tol<Real>()));
  EXPECT_TRUE(close(lb.median, la.median, rel_tol<Real>()));
  EXPECT_NEAR(lb.median, 2.5, sizeof(Real) == 4 ? 1e-3 : 1e-9);
}

TYPED_TEST(DeviceMetrics, GelbrichAndExactW2) {
  using Real = TypeParam;
  Pair<Real> p(400, 400, 3);
  EXPECT_TRUE(close(fm::gelbrich_w2_squared(p.dev, p.xd, p.yd), fm::gelbrich_w2_squared(p.cpu, p.x, p.y), rel_tol<Real>()));
  // The assignment runs on the host: the two clouds are downloaded once, nothing else moves.
  p.dev.reset_counters();
  EXPECT_TRUE(close(fm::exact_assignment(p.xd, p.yd).cost, fm::exact_assignment(p.x, p.y).cost, rel_tol<Real>()));
  EXPECT_TRUE(ft::within(p.dev.counters(), {/*transfer_bytes=*/2 * p.x.size() * sizeof(Real), /*uploads=*/0, /*downloads=*/2}));
}

TEST(DeviceMetrics, FisherInformationEqualsTheCpu) {
  fs::targets::GaussianMixture nu(2), mu(2);
  nu.add(0.5, {1.0, 0.0}, {0.5});
  nu.add(0.5, {-1.0, 0.5}, {0.8});
  mu.add(1, {0.0, 0.5}, {1.0});
  fs::Context cpu = ft::cpu(3), dev = ft::emulator(3);
  const auto a = fm::relative_fisher_information(cpu, nu, mu, 5000);
  const auto b = fm::relative_fisher_information(dev, nu, mu, 5000);
  EXPECT_TRUE(close(b.value, a.value, 1e-9));
  EXPECT_TRUE(close(b.std_error, a.std_error, 1e-9));
  EXPECT_TRUE(close(b.sup, a.sup, 1e-9));
}
