// Hand-written derivatives of the convex potentials against central finite
// differences (double), and convexity of phi (Hessian quadratic forms >= 0).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "flowsampler/core/error.hpp"
#include "flowsampler/monge/potential.hpp"

using namespace flowsampler;
using namespace flowsampler::monge;

namespace {

std::vector<double> random_points(std::size_t n, std::size_t d, double scale, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd(0.0, scale);
  std::vector<double> x(n * d);
  for (double& v : x) v = nd(rng);
  return x;
}

// Random parameters, constrained entries strictly inside the feasible set so
// that +-h steps of finite differences stay feasible (project() is then a no-op).
void randomize(ConvexPotential& p, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd(0.0, 0.7);
  std::vector<double> th(p.num_params());
  for (double& v : th) v = nd(rng);
  if (auto* icnn = dynamic_cast<IcnnPotential*>(&p)) {
    const auto& lay = icnn->layout();
    const auto& W = icnn->spec().widths;
    for (std::size_t l = 1; l < W.size(); ++l)
      for (std::size_t j = 0; j < W[l] * W[l - 1]; ++j) th[lay.B[l] + j] = 0.05 + std::fabs(th[lay.B[l] + j]);
    for (std::size_t j = 0; j < W.back(); ++j) th[lay.w + j] = 0.05 + std::fabs(th[lay.w + j]);
    if (icnn->spec().skip) th[lay.q] = 0.05 + std::fabs(th[lay.q]);
  }
  p.set_params(th);
}

std::vector<PotentialSpec> specs() {
  std::vector<PotentialSpec> out;
  PotentialSpec a;  // the default: icnn 2 x 20 with skip, d = 2
  out.push_back(a);
  PotentialSpec b;
  b.dim = 5, b.widths = {6, 4, 3}, b.skip = false, b.init = "seed", b.seed = 3;
  out.push_back(b);
  PotentialSpec c;
  c.dim = 3, c.widths = {7}, c.seed = 4;  // one hidden layer (no B)
  out.push_back(c);
  PotentialSpec e;
  e.type = "lse", e.dim = 2, e.pieces = 9, e.s = 0.7, e.seed = 5;
  out.push_back(e);
  PotentialSpec f;
  f.type = "lse", f.dim = 4, f.pieces = 5, f.s = 1.3, f.seed = 6;
  out.push_back(f);
  return out;
}

class PotentialFd : public ::testing::TestWithParam<int> {};

TEST_P(PotentialFd, MapIsTheGradientOfPhi) {
  const PotentialSpec sp = specs()[GetParam()];
  auto p = make_potential(sp);
  randomize(*p, 11);
  const std::size_t n = 7, d = sp.dim;
  std::vector<double> x = random_points(n, d, 1.5, 1);
  const std::vector<double> T = p->map(x.data(), n);
  const double h = 1e-5;
  double worst = 0;
  for (std::size_t c = 0; c < d; ++c) {
    std::vector<double> xp = x, xm = x;
    for (std::size_t i = 0; i < n; ++i) xp[c * n + i] += h, xm[c * n + i] -= h;
    const auto fp = p->value(xp.data(), n), fm = p->value(xm.data(), n);
    for (std::size_t i = 0; i < n; ++i) {
      const double fd = (fp[i] - fm[i]) / (2 * h);
      worst = std::max(worst, std::fabs(fd - T[c * n + i]) / (1 + std::fabs(fd)));
    }
  }
  EXPECT_LT(worst, 1e-7) << sp.type;
}

TEST_P(PotentialFd, ParameterGradientMatchesFiniteDifferences) {
  const PotentialSpec sp = specs()[GetParam()];
  auto p = make_potential(sp);
  randomize(*p, 12);
  const std::size_t n = 9, d = sp.dim;
  const std::vector<double> x = random_points(n, d, 1.5, 2), g = random_points(n, d, 1.0, 3);
  auto loss = [&](const ConvexPotential& q) {
    const auto T = q.map(x.data(), n);
    double s = 0;
    for (std::size_t k = 0; k < n * d; ++k) s += g[k] * T[k];
    return s;
  };
  const std::vector<double> grad = p->map_vjp(x.data(), g.data(), n);
  ASSERT_EQ(grad.size(), p->num_params());
  const std::vector<double> th = p->params();
  const double h = 1e-5;
  double worst = 0, norm = 0;
  for (std::size_t k = 0; k < th.size(); ++k) {
    std::vector<double> tp = th, tm = th;
    tp[k] += h, tm[k] -= h;
    auto q = p->clone();
    q->set_params(tp);
    const double lp = loss(*q);
    q->set_params(tm);
    const double lm = loss(*q);
    const double fd = (lp - lm) / (2 * h);
    worst = std::max(worst, std::fabs(fd - grad[k]));
    norm = std::max(norm, std::fabs(fd));
  }
  EXPECT_GT(norm, 1e-3);  // the loss does depend on theta
  EXPECT_LT(worst, 1e-6 * (1 + norm)) << sp.type << " " << p->num_params() << " parameters";
}

TEST_P(PotentialFd, HessianIsSymmetricPositiveSemidefinite) {
  const PotentialSpec sp = specs()[GetParam()];
  auto p = make_potential(sp);
  randomize(*p, 13);
  const std::size_t n = 50, d = sp.dim;
  const std::vector<double> x = random_points(n, d, 2.5, 4);
  const double h = 1e-4;
  // H[i][a][b] = d T_b / d x_a at point i, by central differences of T.
  std::vector<double> H(n * d * d);
  for (std::size_t a = 0; a < d; ++a) {
    std::vector<double> xp = x, xm = x;
    for (std::size_t i = 0; i < n; ++i) xp[a * n + i] += h, xm[a * n + i] -= h;
    const auto Tp = p->map(xp.data(), n), Tm = p->map(xm.data(), n);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t b = 0; b < d; ++b) H[(i * d + a) * d + b] = (Tp[b * n + i] - Tm[b * n + i]) / (2 * h);
  }
  std::mt19937_64 rng(5);
  std::normal_distribution<double> nd;
  double min_form = INFINITY, asym = 0;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t a = 0; a < d; ++a)
      for (std::size_t b = 0; b < d; ++b) asym = std::max(asym, std::fabs(H[(i * d + a) * d + b] - H[(i * d + b) * d + a]));
    for (int r = 0; r < 20; ++r) {
      std::vector<double> v(d);
      double vv = 0;
      for (double& e : v) e = nd(rng), vv += e * e;
      double form = 0;
      for (std::size_t a = 0; a < d; ++a)
        for (std::size_t b = 0; b < d; ++b) form += v[a] * H[(i * d + a) * d + b] * v[b];
      min_form = std::min(min_form, form / vv);
    }
  }
  EXPECT_GT(min_form, -1e-6);
  EXPECT_LT(asym, 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Potentials, PotentialFd, ::testing::Range(0, 5));

TEST(Potential, ProjectionKeepsConvexityConstraints) {
  PotentialSpec sp;
  sp.widths = {4, 3};
  IcnnPotential p(sp);
  std::vector<double> th(p.num_params(), -1.0);  // every weight negative
  p.set_params(th);
  const auto& lay = p.layout();
  for (std::size_t j = 0; j < 4 * 3; ++j) EXPECT_EQ(p.params()[lay.B[1] + j], 0.0);
  for (std::size_t j = 0; j < 3; ++j) EXPECT_EQ(p.params()[lay.w + j], 0.0);
  EXPECT_EQ(p.params()[lay.q], 0.0);
  EXPECT_EQ(p.params()[lay.A[0]], -1.0);  // unconstrained entries untouched
}

TEST(Potential, IdentityInitStartsNearTheIdentity) {
  for (const char* type : {"icnn", "lse"}) {
    PotentialSpec sp;
    sp.type = type;
    sp.pieces = 400, sp.s = 0.05, sp.init_scale = 2.0;
    auto p = make_potential(sp);
    const std::size_t n = 200;
    const auto x = random_points(n, 2, 0.7, 7);
    const auto T = p->map(x.data(), n);
    double err = 0, nx = 0;
    for (std::size_t k = 0; k < 2 * n; ++k) err += (T[k] - x[k]) * (T[k] - x[k]), nx += x[k] * x[k];
    EXPECT_LT(std::sqrt(err / nx), 0.25) << type;  // relative L2 deviation from x
  }
}

TEST(Potential, BadSpecsAreRefused) {
  PotentialSpec sp;
  sp.type = "mlp";
  EXPECT_THROW(make_potential(sp), Error);
  sp.type = "icnn";
  sp.widths = {};
  EXPECT_THROW(make_potential(sp), Error);
  sp.widths = {3, 0};
  EXPECT_THROW(make_potential(sp), Error);
  sp.widths = {3};
  sp.skip = false;  // identity init needs the quadratic term
  EXPECT_THROW(make_potential(sp), Error);
  sp.type = "lse";
  sp.s = 0;
  EXPECT_THROW(make_potential(sp), Error);
  sp.s = 1;
  sp.dim = 0;
  EXPECT_THROW(make_potential(sp), Error);
  sp.dim = 2;
  auto p = make_potential(sp);
  EXPECT_THROW(p->set_params(std::vector<double>(p->num_params() + 1)), Error);
  std::vector<double> bad(p->num_params(), 0.0);
  bad[0] = NAN;
  EXPECT_THROW(p->set_params(bad), Error);
}

TEST(Potential, ParameterGradientIsThreadCountInvariant) {
  PotentialSpec sp;
  auto p = make_potential(sp);
  const std::size_t n = 3000;
  const auto x = random_points(n, 2, 1.0, 8), g = random_points(n, 2, 1.0, 9);
  auto on = [&](int threads) {
    const Context ctx = Context::create(Backend::cpu, 0, threads);
    return p->map_vjp(ctx, ParticleSet<double>::from_column_major(ctx, x.data(), n, 2),
                      ParticleSet<double>::from_column_major(ctx, g.data(), n, 2));
  };
  const auto a = on(2);
  EXPECT_EQ(a, on(1));
  EXPECT_EQ(a, p->map_vjp(x.data(), g.data(), n));
  // The sum over the batch is the sum of per-chunk gradients (up to rounding).
  std::vector<double> b(a.size(), 0.0);
  for (std::size_t c = 0; c * 256 < n; ++c) {
    const std::size_t m = std::min<std::size_t>(256, n - c * 256);
    std::vector<double> xs(m * 2), gs(m * 2);
    for (std::size_t k = 0; k < 2; ++k)
      for (std::size_t i = 0; i < m; ++i) xs[k * m + i] = x[k * n + c * 256 + i], gs[k * m + i] = g[k * n + c * 256 + i];
    const auto part = p->map_vjp(xs.data(), gs.data(), m);
    for (std::size_t q = 0; q < b.size(); ++q) b[q] += part[q];
  }
  double scale = 0;
  for (double v : b) scale = std::max(scale, std::fabs(v));
  for (std::size_t q = 0; q < a.size(); ++q) EXPECT_NEAR(a[q], b[q], 1e-12 * scale) << q;
}

}  // namespace
