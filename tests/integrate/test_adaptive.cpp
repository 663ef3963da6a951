// dopri5 and what rests on it: fixed-step orders against a dopri5 reference
// on a full-covariance mixture, exact likelihoods, and encode/decode inversion.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "flowsampler/fields/gmm_field.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/integrate/integrate.hpp"

namespace fs = flowsampler;
namespace fi = flowsampler::integrate;

namespace {

// A 2-D mixture of 3 full-covariance components, smooth enough that the flow
// is well resolved by a few dozen steps.
fs::targets::GaussianMixture three_blobs() {
  fs::targets::GaussianMixture g(2);
  g.add(0.3, {-1.0, 0.5}, {0.5, 0.2, 0.2, 0.4});
  g.add(0.5, {1.2, 0.8}, {0.3, -0.1, -0.1, 0.6});
  g.add(0.2, {0.0, -1.3}, {0.8, 0.0, 0.0, 0.2});
  return g;
}

std::vector<double> normals(std::size_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> n01;
  std::vector<double> v(count);
  for (double& x : v) x = n01(rng);
  return v;
}

double max_abs_diff(const fs::ParticleSet<double>& a, const fs::ParticleSet<double>& b) {
  double worst = 0;
  for (std::size_t e = 0; e < a.size(); ++e) worst = std::max(worst, std::fabs(a.data()[e] - b.data()[e]));
  return worst;
}

// Least-squares slope of log(error) against log(1 / steps).
double fitted_order(const std::vector<int>& steps, const std::vector<double>& err) {
  double mx = 0, my = 0;
  const double n = static_cast<double>(steps.size());
  for (std::size_t i = 0; i < steps.size(); ++i) {
    mx += -std::log(double(steps[i])) / n;
    my += std::log(err[i]) / n;
  }
  double sxy = 0, sxx = 0;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const double x = -std::log(double(steps[i])) - mx;
    sxy += x * (std::log(err[i]) - my);
    sxx += x * x;
  }
  return sxy / sxx;
}

}  // namespace

TEST(Dopri5, ReachesTheExactGaussianMapWithinTolerance) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  fs::targets::GaussianMixture g(1);
  g.add(1.0, {2.0}, {0.25});
  const fs::fields::GmmFlow<double> flow(fs::fields::GmmField(g), fs::paths::make_path("linear"));
  const auto z0 = normals(50, 1);
  for (auto norm : {fi::ErrorNorm::rms, fi::ErrorNorm::max}) {
    for (double tol : {1e-4, 1e-8}) {
      auto z = fs::ParticleSet<double>::from_column_major(ctx, z0.data(), 50, 1);
      fi::AdaptiveOptions o;
      o.rtol = o.atol = tol;
      o.norm = norm;
      const auto r = fi::integrate_adaptive(ctx, flow, z, 0.0, 1.0, o);
      // Linear path, N(2, 0.25): z_1 = 2 + 0.5 z_0.
      double worst = 0;
      for (int i = 0; i < 50; ++i) worst = std::max(worst, std::fabs(z.at(i, 0) - (2 + 0.5 * z0[i])));
      EXPECT_LT(worst, 50 * tol) << tol;
      EXPECT_EQ(r.nfe, 2 + 6LL * (r.steps + r.rejected));  // the start, Hairer's trial, 6 per step (FSAL)
      std::printf("tol %.0e %s: %d accepted, %d rejected, nfe %lld, max error %.2e\n", tol,
                  norm == fi::ErrorNorm::rms ? "rms" : "max", r.steps, r.rejected, r.nfe, worst);
    }
  }
}

TEST(Dopri5, RejectsStepsOnARoughStartAndValidates) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const fs::fields::GmmFlow<double> flow(fs::fields::GmmField(three_blobs()), fs::paths::make_path("linear"));
  const auto z0 = normals(40, 2);
  auto z = fs::ParticleSet<double>::from_column_major(ctx, z0.data(), 20, 2);
  fi::AdaptiveOptions o;
  o.first_step = 0.5;  // far too large: must be rejected, not accepted
  o.rtol = o.atol = 1e-8;
  int calls = 0;
  fi::Options<double> opts;
  opts.on_step = [&](int, double, const fs::ParticleSet<double>&) { ++calls; };
  const auto r = fi::integrate_adaptive(ctx, flow, z, 0.0, 1.0, o, opts);
  EXPECT_GT(r.rejected, 0);
  EXPECT_EQ(calls, r.steps);
  o.max_steps = 3;
  EXPECT_THROW(fi::integrate_adaptive(ctx, flow, z, 0.0, 1.0, o), fs::Error);
  o = fi::AdaptiveOptions{};
  o.rtol = o.atol = 0;
  EXPECT_THROW(fi::integrate_adaptive(ctx, flow, z, 0.0, 1.0, o), fs::Error);
  EXPECT_THROW(fi::integrate_adaptive(ctx, flow, z, 0.0, 1.5), fs::Error);
  EXPECT_THROW(fi::integrate_adaptive(ctx, flow, z, 0.3, 0.3), fs::Error);
}

// The order test: terminal error against dopri5 at rtol 1e-12 falls
// at each method's order, slope fitted over several step counts.
TEST(Dopri5, FixedStepOrdersAgainstATightReference) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  const fs::fields::GmmFlow<double> flow(fs::fields::GmmField(three_blobs()), fs::paths::make_path("linear"));
  const std::size_t n = 64;
  const auto z0 = normals(2 * n, 3);
  const double t1 = 0.95;
  auto ref = fs::ParticleSet<double>::from_column_major(ctx, z0.data(), n, 2);
  fi::AdaptiveOptions tight;
  tight.rtol = tight.atol = 1e-12;
  tight.norm = fi::ErrorNorm::max;
  const auto rr = fi::integrate_adaptive(ctx, flow, ref, 0.0, t1, tight);
  std::printf("reference: %d steps, %d rejected\n", rr.steps, rr.rejected);
  struct Expect {
    fi::Method m;
    double order;
    std::vector<int> steps;
  };
  for (const Expect& x : {Expect{fi::Method::euler, 1, {32, 64, 128, 256}}, Expect{fi::Method::heun, 2, {16, 32, 64, 128}},
                          Expect{fi::Method::midpoint, 2, {16, 32, 64, 128}}, Expect{fi::Method::rk4, 4, {8, 16, 32, 64}},
                          Expect{fi::Method::ddim, 1, {32, 64, 128, 256}}}) {
    std::vector<double> err;
    for (int k : x.steps) {
      auto z = fs::ParticleSet<double>::from_column_major(ctx, z0.data(), n, 2);
      fi::integrate(ctx, flow, z, fi::uniform_grid(0.0, t1, k), x.m);
      err.push_back(max_abs_diff(z, ref));
    }
    const double order = fitted_order(x.steps, err);
    std::printf("%s: errors %.3g .. %.3g, fitted order %.2f\n", fi::to_string(x.m).c_str(), err.front(), err.back(), order);
    EXPECT_NEAR(order, x.order, 0.25) << fi::to_string(x.m);
  }
}

// ddim is exact in one step for a single atom: D(z) = x0 everywhere.
TEST(Dopri5, DdimIsExactInOneStepForADirac) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 1);
  const auto g = fs::targets::GaussianMixture::empirical({0.7, -1.1}, 1, 2);
  for (const char* name : {"linear", "cosine", "follmer"}) {
    const fs::fields::GmmFlow<double> flow(fs::fields::GmmField(g), fs::paths::make_path(name));
    const auto z0 = normals(20, 4);
    auto z = fs::ParticleSet<double>::from_column_major(ctx, z0.data(), 10, 2);
    const double t0 = 0.0, t1 = 0.9;
    fi::integrate(ctx, flow, z, {t0, t1}, fi::Method::ddim);
    // Exact: Z_t = a(t) x0 + b(t) Y with Y fixed along the flow, Y = (z0 - a0 x0) / b0.
    const auto p0 = flow.path()->at(t0), p1 = flow.path()->at(t1);
    for (int i = 0; i < 10; ++i)
      for (int k = 0; k < 2; ++k) {
        const double x0 = k == 0 ? 0.7 : -1.1;
        const double y = (z0[k * 10 + i] - p0.a * x0) / p0.b;
        EXPECT_NEAR(z.at(i, k), p1.a * x0 + p1.b * y, 1e-12) << name;
      }
  }
}

// log p_1(x) = log p_0(z_0) - int_0^1 div v dt along the path from z_0 to x:
// encode x back to t = 0 while integrating, compare to the exact log-density.
TEST(Dopri5, LikelihoodOfSamplesMatchesTheExactDensity) {
  fs::Context ctx = fs::Context::create(fs::Backend::cpu, 5, 2);
  const auto g = three_blobs();
  const fs::fields::GmmFlow<double> flow(fs::fields::GmmField(g), fs::paths::make_path("linear"));
  auto x = g.sample<double>(ctx, 200);
  fs::fields::FieldRequest req;
  req.log_density = true;
  const std::vector<double> exact = flow.evaluate(ctx, 1.0, x, req).log_density.to_host();
  const std::vector<double> zeros(x.n(), 0.0);  // starts at 0: ends at -int_1^0 (-div v) = -int_0^1 div v
  auto lls = fs::ParticleSet<double>::from_column_major(ctx, zeros.data(), x.n(), 1);
  fi::Options<double> opts;
  opts.log_density = &lls;
  fi::AdaptiveOptions o;
  o.rtol = o.atol = 1e-10;
  fi::integrate_adaptive(ctx, flow, x, 1.0, 0.0, o, opts);
  const std::vector<double> log_p0 = flow.evaluate(ctx, 0.0, x, req).log_density.to_host();
  const std::vector<double> ll = lls.to_host();
  double worst = 0;
  for (std::size_t i = 0; i < x.n(); ++i) worst = std::max(worst, std::fabs(log_p0[i] - ll[i] - exact[i]));
  std::printf("likelihood: max |error| %.2e over %zu samples\n", worst, x.n());
  EXPECT_LT(worst, 1e-6);
}

// Encoding to t = 0 and decoding back returns the particles: the inversion
// error (mean squared distance, as in the JKO paper) is at the tolerance level.
TEST(Dopri5, EncodeThenDecodeInverts) {
  fs::Context ctx = fs::Context::create(fs::Backend::cpu, 6, 2);
  const auto g = three_blobs();
  const fs::fields::GmmFlow<double> flow(fs::fields::GmmField(g), fs::paths::make_path("cosine"));
  const auto x = g.sample<double>(ctx, 500);
  for (double tol : {1e-5, 1e-9}) {
    auto z = x.copy(ctx);
    fi::AdaptiveOptions o;
    o.rtol = o.atol = tol;
    fi::integrate_adaptive(ctx, flow, z, 0.999, 0.0, o);
    fi::integrate_adaptive(ctx, flow, z, 0.0, 0.999, o);
    double mse = 0;
    for (std::size_t e = 0; e < x.size(); ++e) mse += std::pow(z.data()[e] - x.data()[e], 2);
    mse /= static_cast<double>(x.n());
    std::printf("inversion error E|x - dec(enc(x))|^2 at tol %.0e: %.2e\n", tol, mse);
    EXPECT_LT(std::sqrt(mse), 1e3 * tol);
  }
}
