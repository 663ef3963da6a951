// Block-by-block integration of pointwise fields (src/integrate/row_blocks.hpp):
// clouds larger than a block, with a ragged last block, against the exact
// flow map and against the whole-cloud integrator (the same field behind a
// wrapper that is not pointwise); the step notices of Options::on_step_at;
// an error raised inside a block reaching the caller.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <random>
#include <vector>

#include "flowsampler/integrate/gmm_flow.hpp"
#include "flowsampler/fields/gmm_field.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/integrate/integrate.hpp"

namespace fs = flowsampler;
namespace fi = flowsampler::integrate;

namespace {

// The same field, integrated over the whole cloud at every stage.
template <class Real>
class WholeCloud final : public fs::fields::Field<Real> {
 public:
  explicit WholeCloud(const fs::fields::Field<Real>& f) : f_(f) {}
  std::size_t dim() const override { return f_.dim(); }
  fs::fields::FieldRequest capabilities() const override { return f_.capabilities(); }
  fs::fields::FieldValues<Real> evaluate(const fs::Context& ctx, double t, const fs::ParticleSet<Real>& z,
                                         const fs::fields::FieldRequest& what) const override {
    return f_.evaluate(ctx, t, z, what);
  }
  const fs::paths::Path* path() const override { return f_.path(); }

 private:
  const fs::fields::Field<Real>& f_;
};

struct RingCase {
  fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  fs::targets::GaussianMixture g{2};
  RingCase() {
    for (int k = 0; k < 8; ++k)
      g.add(1.0 + 0.1 * k, {4 * std::cos(0.785398 * k), 4 * std::sin(0.785398 * k)}, {0.09, 0, 0, 0.09});
  }
  template <class Real>
  fs::ParticleSet<Real> noise(std::size_t n) const {
    std::mt19937 rng(7);
    std::normal_distribution<double> n01;
    std::vector<Real> cols(2 * n);
    for (auto& v : cols) v = static_cast<Real>(n01(rng));
    return fs::ParticleSet<Real>::from_column_major(ctx, cols.data(), n, 2);
  }
};

template <class Real>
double max_abs_diff(const fs::ParticleSet<Real>& a, const fs::ParticleSet<Real>& b) {
  const auto x = a.to_host(), y = b.to_host();
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::fabs(double(x[i]) - double(y[i])));
  return worst;
}

// Blocks of 2^16 bytes: 4096 rows in 2-D double, 8192 in float; n is not a
// multiple of either.
template <class Real>
void agrees_with_the_whole_cloud(fi::Method method, bool log_density) {
  RingCase c;
  const std::size_t n = 100000 + 1237;
  const fs::fields::GmmFlow<Real> flow(fs::fields::GmmField(c.g), fs::paths::make_path("vp"));
  const WholeCloud<Real> whole(flow);
  const auto grid = fi::uniform_grid(0.0, 0.98, 12);
  auto zb = c.noise<Real>(n), zw = c.noise<Real>(n);
  fs::ParticleSet<double> lb, lw;
  fi::Options<Real> ob, ow;
  if (log_density) ob.log_density = &lb, ow.log_density = &lw;
  const fi::Report rb = fi::integrate(c.ctx, flow, zb, grid, method, ob);
  const fi::Report rw = fi::integrate(c.ctx, whole, zw, grid, method, ow);
  EXPECT_EQ(rb.nfe, rw.nfe);
  EXPECT_EQ(rb.steps, 12);
  // Each particle's arithmetic is the same; only its place in the vector
  // loops differs, which decides whether a tail loop takes it. With GCC 12 on
  // AVX-512 the results are bit-identical (measured 0, even with 5000-row
  // blocks); a scalar tail may round a contraction differently elsewhere.
  const double tol = sizeof(Real) == 4 ? 2e-5 : 1e-12;
  EXPECT_LE(max_abs_diff(zb, zw), tol) << fi::to_string(method);
  if (log_density) {
    EXPECT_LE(max_abs_diff(lb, lw), sizeof(Real) == 4 ? 1e-3 : 1e-9);
  }
}

}  // namespace

TEST(RowBlocks, AgreeWithTheWholeCloudIntegrator) {
  for (auto m : {fi::Method::euler, fi::Method::heun, fi::Method::rk4, fi::Method::ddim, fi::Method::dpmpp2m}) {
    agrees_with_the_whole_cloud<float>(m, false);
    agrees_with_the_whole_cloud<double>(m, false);
  }
  agrees_with_the_whole_cloud<float>(fi::Method::heun, true);
  agrees_with_the_whole_cloud<double>(fi::Method::rk4, true);
}

// The linear path to one Gaussian: the flow map is z -> t m + C_t^1/2 z with
// C_t = t^2 S + (1 - t)^2 I; rk4 with 40 steps is within 1e-7 of it.
TEST(RowBlocks, ReachTheExactGaussianMap) {
  fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  Eigen::Matrix2d S;
  S << 1.5, 0.4, 0.4, 0.6;
  const Eigen::Vector2d m{0.5, -1.0};
  fs::targets::GaussianMixture g{2};
  g.add(1.0, {m(0), m(1)}, {S(0, 0), S(0, 1), S(1, 0), S(1, 1)});
  const std::size_t n = 40000;  // 4096-row blocks
  std::mt19937 rng(3);
  std::normal_distribution<double> n01;
  std::vector<double> z0(2 * n);
  for (auto& v : z0) v = n01(rng);
  auto z = fs::ParticleSet<double>::from_column_major(ctx, z0.data(), n, 2);
  const double t1 = 0.9;
  std::vector<int> seen;
  fi::Options<double> o;
  o.on_step_at = {9, 19, 39};
  o.on_step = [&](int k, double t, const fs::ParticleSet<double>& x) {
    seen.push_back(k);
    EXPECT_EQ(x.n(), n);
    EXPECT_DOUBLE_EQ(t, t1 * (k + 1) / 40);
  };
  fi::integrate(ctx, fs::fields::GmmField(g), fs::paths::make_path("linear"), z, fi::uniform_grid(0.0, t1, 40),
                fi::Method::rk4, o);
  EXPECT_EQ(seen, (std::vector<int>{9, 19, 39}));
  Eigen::SelfAdjointEigenSolver<Eigen::Matrix2d> e(t1 * t1 * S + (1 - t1) * (1 - t1) * Eigen::Matrix2d::Identity());
  const Eigen::Matrix2d C = e.eigenvectors() * e.eigenvalues().cwiseSqrt().asDiagonal() * e.eigenvectors().transpose();
  double worst = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const Eigen::Vector2d want = t1 * m + C * Eigen::Vector2d(z0[i], z0[n + i]);
    worst = std::max(worst, std::hypot(z.at(i, 0) - want(0), z.at(i, 1) - want(1)));
  }
  EXPECT_LT(worst, 1e-7);
}

TEST(RowBlocks, StepNoticesAreCheckedAndErrorsReachTheCaller) {
  RingCase c;
  const fs::fields::GmmFlow<double> flow(fs::fields::GmmField(c.g), fs::paths::make_path("vp"));
  auto z = c.noise<double>(50000);
  fi::Options<double> o;
  o.on_step = [](int, double, const fs::ParticleSet<double>&) {};
  o.on_step_at = {3, 3};
  try {
    fi::integrate(c.ctx, flow, z, fi::uniform_grid(0.0, 0.9, 5), fi::Method::heun, o);
    ADD_FAILURE() << "repeated step accepted";
  } catch (const fs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("on_step_at"), std::string::npos) << e.what();
  }
  o.on_step_at = {5};
  EXPECT_THROW(fi::integrate(c.ctx, flow, z, fi::uniform_grid(0.0, 0.9, 5), fi::Method::heun, o), fs::Error);
  // ddim from the data end divides by b(1) = 0: every block raises, the caller gets one Error.
  try {
    fi::integrate(c.ctx, flow, z, fi::uniform_grid(1.0, 0.5, 4), fi::Method::ddim);
    ADD_FAILURE() << "ddim from b = 0 accepted";
  } catch (const fs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("b(t) = 0"), std::string::npos) << e.what();
  }
}
