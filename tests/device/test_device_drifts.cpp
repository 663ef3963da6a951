// The drift fields on the device emulator: every kind (and the attention
// field) equal to the CPU backend, and held per evaluation to a transfer
// budget: no cloud-sized traffic, only the scalar reads (and the small
// tables) that each field's orchestration needs.
//
// Tolerances (relative to 1 + max |v|): float 1e-5 and double 1e-12 for the
// fields computed in one sweep of kernels; the Sinkhorn-based fields (an
// iterative solver stopped by a tolerance) float 1e-4 and double 1e-9. Today
// the emulator runs the CPU backend's kernel bodies, so the two agree to the
// bit; the tolerances leave room for a device path that sums in another order.
//
// Budgets: GmmField::evaluate (SVGD's target score) and the Sinkhorn solver
// and barycentric projections (sinkhorn, ot-score) are other modules' calls;
// their own traffic is measured on the same inputs and allowed on top of the
// field's, so the check holds the field's orchestration to its budget
// whatever state those modules are in (and to the full budget once they are
// device-resident).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "device/device_testing.hpp"
#include "flowsampler/core/random.hpp"
#include "flowsampler/fields/attention.hpp"
#include "flowsampler/fields/drifts.hpp"
#include "flowsampler/fields/gmm_field.hpp"
#include "flowsampler/fields/score_estimates.hpp"
#include "flowsampler/metrics/sinkhorn.hpp"

namespace fs = flowsampler;
namespace ff = flowsampler::fields;
namespace ft = flowsampler::test;
using fs::pairwise::Kernel;

namespace {

// A standard normal cloud shifted by `shift`, drawn on the CPU context `cpu`
// with its seed (each call draws anew), then placed on `ctx`.
template <class Real>
fs::ParticleSet<Real> cloud(const fs::Context& ctx, fs::Context& cpu, std::size_t n, std::size_t d, double shift = 0) {
  fs::ParticleSet<Real> x(cpu, n, d);
  fs::fill_normal(cpu, x);
  for (std::size_t e = 0; e < x.size(); ++e) x.data()[e] += static_cast<Real>(shift);
  return ft::on(ctx, x);
}

ff::FieldRequest velocity() {
  ff::FieldRequest r;
  r.velocity = true;
  return r;
}

template <class Real>
double max_abs(const fs::ParticleSet<Real>& a) {
  double m = 0;
  for (Real v : a.to_host()) m = std::max(m, std::fabs(double(v)));
  return m;
}

// One field kind with its options, what it needs, and the traffic its own
// orchestration may add per evaluation (bytes, all directions).
struct Case {
  std::string name;
  ff::Drift kind;
  ff::DriftOptions options;
  bool data = false, weights = false, target = false;
  std::uint64_t own_bytes = 0;
  bool sinkhorn = false;  // iterative: the looser tolerance
};

constexpr std::size_t N = 300, M = 260, D = 2;
constexpr double default_eps_points = 300;  // min(N, 1000) strided points for the median

template <class Real>
std::vector<Case> cases() {
  std::vector<Case> v;
  auto add = [&](std::string name, ff::Drift kind, auto&& set) {
    Case c;
    c.name = std::move(name);
    c.kind = kind;
    set(c);
    v.push_back(std::move(c));
  };
  const std::uint64_t sample_bytes = std::uint64_t(default_eps_points) * D * sizeof(Real);
  add("mean-shift gaussian, weighted", ff::Drift::mean_shift, [](Case& c) {
    c.options.kernel = {Kernel::gaussian, 0.8};
    c.data = c.weights = true;
  });
  add("mean-shift laplace", ff::Drift::mean_shift, [](Case& c) {
    c.options.kernel = {Kernel::laplace, 0.8};
    c.data = true;
  });
  add("drifting laplace", ff::Drift::drifting, [](Case& c) {
    c.options.kernel = {Kernel::laplace, 0.8};
    c.data = true;
  });
  add("drifting-normalized", ff::Drift::drifting_normalized, [](Case& c) {
    c.data = true;
    c.own_bytes = (2 + 2 * 3) * sizeof(double);  // the mean distance, then per temperature the RMS and its parts
  });
  add("mmd gaussian", ff::Drift::mmd, [](Case& c) {
    c.options.kernel = {Kernel::gaussian, 1.1};
    c.data = true;
  });
  add("mmd energy, weighted", ff::Drift::mmd, [](Case& c) {
    c.options.kernel = {Kernel::energy, 1.0};
    c.data = c.weights = true;
  });
  add("mmd gaussian, weighted batch", ff::Drift::mmd, [](Case& c) {
    c.options.kernel = {Kernel::gaussian, 1.1};
    c.options.batch = 50;
    c.options.batch_seed = 9;
    c.data = c.weights = true;
    c.own_bytes = 50 * sizeof(std::uint64_t);  // the batch's indices go up
  });
  add("kde-score", ff::Drift::kde_score, [](Case& c) { c.options.kernel = {Kernel::gaussian, 0.6}; });
  add("blob", ff::Drift::blob, [](Case& c) { c.options.kernel = {Kernel::gaussian, 0.6}; });
  add("svgd", ff::Drift::svgd, [](Case& c) {
    c.options.kernel = {Kernel::gaussian, 0.7};
    c.target = true;
  });
  add("svgd, median bandwidth", ff::Drift::svgd, [&](Case& c) {
    c.options.median_bandwidth = true;
    c.target = true;
    c.own_bytes = sample_bytes;  // the strided sample of the median comes down
  });
  add("sinkhorn", ff::Drift::sinkhorn, [](Case& c) {
    c.options.ot_eps = 0.3;
    c.options.ot_tol = 1e-6;
    c.data = c.sinkhorn = true;
  });
  add("ot-score, default eps", ff::Drift::ot_score, [&](Case& c) {
    c.options.ot_tol = 1e-6;
    c.sinkhorn = true;
    c.own_bytes = sample_bytes;
  });
  return v;
}

fs::targets::GaussianMixture two_blobs() {
  fs::targets::GaussianMixture g(D);
  g.add(0.3, {-2, 0}, {0.25});
  g.add(0.7, {2, 1}, {1, 0.3, 0.3, 0.5});
  return g;
}

// What the other modules' calls inside one evaluation of `c` move, measured
// by making those calls on the same inputs (a warm call first, as the
// field's evaluation is measured warm too).
template <class Real>
fs::DeviceCounters black_boxes(fs::Context& dev, const Case& c, const fs::ParticleSet<Real>& x,
                               const fs::ParticleSet<Real>& y, const fs::targets::GaussianMixture& g) {
  // The default eps (the median of a strided sample) is the field's own work, outside the black boxes.
  const bool ot = c.kind == ff::Drift::sinkhorn || c.kind == ff::Drift::ot_score;
  const double eps = !ot ? 0 : c.options.ot_eps > 0 ? c.options.ot_eps : ff::default_ot_eps(dev, x);
  auto calls = [&] {
    if (c.kind == ff::Drift::svgd) {
      ff::FieldRequest sr;
      sr.score = true;
      (void)ff::GmmField(g).evaluate(dev, fs::paths::PathPoint{1, 0, 0, 0, 0}, x, sr);
    }
    if (ot) {
      fs::metrics::SinkhornOptions so;
      so.tol = c.options.ot_tol;
      so.debias = false;
      if (c.kind == ff::Drift::sinkhorn) {
        so.eps = eps;
        (void)fs::metrics::barycentric_projection(dev, x, y, fs::metrics::sinkhorn(dev, x, y, so).g, eps);
        (void)fs::metrics::barycentric_projection(dev, x, x, fs::metrics::sinkhorn_self_potential(dev, x, so), eps);
      } else {
        so.eps = 2 * eps;
        (void)fs::metrics::barycentric_projection(dev, x, x, fs::metrics::sinkhorn_self_potential(dev, x, so), so.eps);
      }
    }
  };
  calls();
  const fs::DeviceCounters before = dev.counters();
  calls();
  return dev.counters() - before;
}

template <class Real>
class DeviceDrifts : public ::testing::Test {};
using Reals = ::testing::Types<float, double>;
TYPED_TEST_SUITE(DeviceDrifts, Reals);

TYPED_TEST(DeviceDrifts, EveryFieldEqualsTheCpuBackendWithinItsTransferBudget) {
  using Real = TypeParam;
  const bool is_float = sizeof(Real) == 4;
  fs::Context cpu = ft::cpu(1), dev = ft::emulator(1);
  const auto x = cloud<Real>(cpu, cpu, N, D), y = cloud<Real>(cpu, cpu, M, D, 0.7);
  const auto xd = ft::on(dev, x), yd = ft::on(dev, y);
  std::vector<double> w(M);
  for (std::size_t j = 0; j < M; ++j) w[j] = 0.5 + double(j % 4);
  const fs::targets::GaussianMixture g = two_blobs();
  for (const Case& c : cases<Real>()) {
    SCOPED_TRACE(c.name);
    const std::vector<double> weights = c.weights ? w : std::vector<double>{};
    const ff::DriftField<Real> on_cpu(cpu, c.kind, c.options, c.data ? &y : nullptr, weights, c.target ? &g : nullptr);
    const ff::DriftField<Real> on_dev(dev, c.kind, c.options, c.data ? &yd : nullptr, weights, c.target ? &g : nullptr);
    // Two evaluations: batched fields draw a fresh batch each time, the same on both backends.
    for (int k = 0; k < 2; ++k) {
      const auto want = on_cpu.evaluate(cpu, 0, x, velocity()).velocity;
      const fs::DeviceCounters before = dev.counters();
      const auto got = on_dev.evaluate(dev, 0, xd, velocity()).velocity;
      const fs::DeviceCounters used = dev.counters() - before;
      EXPECT_TRUE(got.belongs_to(dev));
      const double tol = (c.sinkhorn ? (is_float ? 1e-4 : 1e-9) : (is_float ? 1e-5 : 1e-12)) * (1 + max_abs(want));
      EXPECT_LE(ft::max_abs_diff(want, got), tol) << "evaluation " << k;
      if (k == 0) continue;  // the budget of a warm evaluation (the pool holds its blocks)
      const fs::DeviceCounters black = black_boxes(dev, c, xd, yd, g);
      ft::Budget b;
      b.transfer_bytes = c.own_bytes + black.transfer_bytes();
      b.allocations = black.allocations;
      EXPECT_TRUE(ft::within(used, b)) << "the other modules' calls moved " << black.transfer_bytes() << " B";
      std::printf("%-32s %s: %s\n", c.name.c_str(), is_float ? "float" : "double", ft::describe(used).c_str());
    }
  }
}

TYPED_TEST(DeviceDrifts, AttentionEqualsTheCpuBackendAndUploadsOnlyItsMatrices) {
  using Real = TypeParam;
  fs::Context cpu = ft::cpu(), dev = ft::emulator();
  const auto x = cloud<Real>(cpu, cpu, 200, 3);
  const auto xd = ft::on(dev, x);
  const std::vector<double> Q = {0.5, -0.2, 0.1, 0.3, 0.4, -0.6}, K = {0.2, 0.7, -0.3, -0.5, 0.1, 0.2};
  const std::vector<double> V = {0.1, 0.2, 0.0, -0.3, 0.5, 0.1, 0.0, 0.2, -0.4};
  const ff::AttentionField<Real> f(3, 2, Q, K, V);
  const auto want = f.evaluate(cpu, 0, x, velocity()).velocity;
  (void)f.evaluate(dev, 0, xd, velocity());  // warm the pool
  dev.reset_counters();
  const auto got = f.evaluate(dev, 0, xd, velocity()).velocity;
  const fs::DeviceCounters used = dev.counters();
  EXPECT_LE(ft::max_abs_diff(want, got), (sizeof(Real) == 4 ? 1e-5 : 1e-12) * (1 + max_abs(want)));
  ft::Budget b;
  b.transfer_bytes = (Q.size() + K.size() + V.size()) * sizeof(double);
  b.uploads = 1;
  b.downloads = 0;
  b.allocations = 0;
  b.synchronizations = 0;
  EXPECT_TRUE(ft::within(used, b));
}

// The median of the strided sample against a plain host loop over the same
// rows, on both backends; only the sample travels.
TYPED_TEST(DeviceDrifts, MedianDistanceDownloadsOnlyTheSample) {
  using Real = TypeParam;
  fs::Context cpu = ft::cpu(), dev = ft::emulator();
  for (std::size_t n : {2u, 999u, 4321u}) {
    const auto x = cloud<Real>(cpu, cpu, n, 3);
    const auto xd = ft::on(dev, x);
    const std::size_t k = std::min<std::size_t>(n, 1000);
    std::vector<double> dist;
    for (std::size_t a = 0; a < k; ++a)
      for (std::size_t c = a + 1; c < k; ++c) {
        double s = 0;
        for (std::size_t j = 0; j < 3; ++j) s += std::pow(double(x.at(a * n / k, j)) - double(x.at(c * n / k, j)), 2);
        dist.push_back(std::sqrt(s));
      }
    std::nth_element(dist.begin(), dist.begin() + std::ptrdiff_t(dist.size() / 2), dist.end());
    const double want = dist[dist.size() / 2];
    EXPECT_EQ(ff::median_pairwise_distance(cpu, x), want);
    dev.reset_counters();
    EXPECT_EQ(ff::median_pairwise_distance(dev, xd), want);
    ft::Budget b;
    b.transfer_bytes = k * 3 * sizeof(Real);
    b.downloads = 1;
    b.uploads = 0;
    EXPECT_TRUE(ft::within(dev.counters(), b)) << "n = " << n;
    EXPECT_EQ(ff::default_ot_eps(dev, xd), 0.05 * want * want);
  }
}

// Batches come from Philox keyed by (batch_seed, evaluation counter): two
// fields with the same seed draw the same sequence, another seed another one.
TEST(DeviceDriftBatches, AreKeyedBySeedAndEvaluationCounter) {
  fs::Context dev = ft::emulator(), cpu = ft::cpu(7);
  const auto y = cloud<double>(dev, cpu, 500, 2, 0.5), x = cloud<double>(dev, cpu, 40, 2);
  ff::DriftOptions o;
  o.kernel = {Kernel::gaussian, 0.9};
  o.batch = 30;
  o.batch_seed = 11;
  const ff::DriftField<double> a(dev, ff::Drift::mean_shift, o, &y), b(dev, ff::Drift::mean_shift, o, &y);
  o.batch_seed = 12;
  const ff::DriftField<double> c(dev, ff::Drift::mean_shift, o, &y);
  const auto a0 = a.evaluate(dev, 0, x, velocity()).velocity, a1 = a.evaluate(dev, 0, x, velocity()).velocity;
  const auto b0 = b.evaluate(dev, 0, x, velocity()).velocity, b1 = b.evaluate(dev, 0, x, velocity()).velocity;
  const auto c0 = c.evaluate(dev, 0, x, velocity()).velocity;
  EXPECT_EQ(ft::max_abs_diff(a0, b0), 0.0);
  EXPECT_EQ(ft::max_abs_diff(a1, b1), 0.0);
  EXPECT_GT(ft::max_abs_diff(a0, a1), 0.0);  // a fresh batch per evaluation
  EXPECT_GT(ft::max_abs_diff(a0, c0), 0.0);
}

}  // namespace
