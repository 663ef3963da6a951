// The Monge-map schemes on Gaussian source and target, where the Monge map is
// the affine Bures map; bad input; saving and loading a map directory.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <vector>

#include "flowsampler/core/error.hpp"
#include "flowsampler/io/npy.hpp"
#include "flowsampler/metrics/mmd.hpp"
#include "flowsampler/monge/map_io.hpp"
#include "flowsampler/monge/train.hpp"

using namespace flowsampler;
using namespace flowsampler::monge;

namespace {

const std::vector<double> m1{1, -1}, S1{1.0, 0.3, 0.3, 0.5}, m2{-0.5, 2}, S2{0.6, -0.2, -0.2, 1.5};

struct Gaussians {
  targets::GaussianMixture source{2}, target{2};
  Gaussians() {
    source.add(1, m1, S1);
    target.add(1, m2, S2);
  }
};

// ||T - T*||_{L2(rho)} on 4000 fresh source draws, and the same for T = identity.
std::pair<double, double> bures_error(const ConvexPotential& p, const Gaussians& s) {
  Context c = Context::create(Backend::cpu, 99);
  const std::size_t n = 4000;
  const std::vector<double> x = s.source.sample<double>(c, n).to_host();
  const std::vector<double> T = p.map(x.data(), n);
  const std::vector<double> A = bures_map_matrix(S1, S2);
  double err = 0, base = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double u = x[i] - m1[0], v = x[n + i] - m1[1];
    const double t0 = m2[0] + A[0] * u + A[1] * v, t1 = m2[1] + A[2] * u + A[3] * v;
    err += std::pow(T[i] - t0, 2) + std::pow(T[n + i] - t1, 2);
    base += std::pow(x[i] - t0, 2) + std::pow(x[n + i] - t1, 2);
  }
  return {std::sqrt(err / double(n)), std::sqrt(base / double(n))};
}

TEST(MongeTrain, BuresMatrixPushesS1ToS2) {
  const std::vector<double> A = bures_map_matrix(S1, S2);
  // A S1 A = S2 with A symmetric positive definite characterizes the Monge map.
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) {
      double v = 0;
      for (int k = 0; k < 2; ++k)
        for (int l = 0; l < 2; ++l) v += A[i * 2 + k] * S1[k * 2 + l] * A[l * 2 + j];
      EXPECT_NEAR(v, S2[i * 2 + j], 1e-12);
    }
  EXPECT_NEAR(A[1], A[2], 1e-14);
  EXPECT_GT(A[0], 0);
  EXPECT_GT(A[0] * A[3] - A[1] * A[2], 0);
  EXPECT_THROW(bures_map_matrix({1, 0, 0, -1}, S2), Error);
}

// Stated accuracy: after total time 8 (16 implicit steps of tau = 0.5, 50
// inner Adam steps at lr 0.05, 200 points per step) the ICNN 2 x 8 map is
// within 0.2 of the Bures map in L2(rho), where the identity is 3.4 away.
TEST(MongeTrain, ImplicitKlConvergesToTheBuresMap) {
  Gaussians s;
  Context ctx = Context::create(Backend::cpu, 0);
  PotentialSpec ps;
  ps.widths = {8, 8};
  auto pot = make_potential(ps);
  auto F = make_kl(ctx, s.target);
  MongeOptions o;
  o.steps = 16, o.inner = 50, o.lr = 0.05, o.tau = 0.5, o.batch = 200;
  const MongeReport rep = train_monge_map(ctx, *pot, *F, mixture_sampler(s.source), o);
  const auto [err, base] = bures_error(*pot, s);
  EXPECT_GT(base, 3.0);
  EXPECT_LT(err, 0.2) << "identity: " << base;
  ASSERT_EQ(rep.history.size(), 16u);
  EXPECT_LT(rep.history.back().value, 0.25 * rep.history.front().value);  // KL decreases
  EXPECT_EQ(rep.wgrad_evaluations, 16 * 50);
}

// MMD (energy kernel) to 2000 target draws: 20 implicit steps of tau = 2; stated error 0.35.
TEST(MongeTrain, ImplicitMmdConvergesToTheBuresMap) {
  Gaussians s;
  Context ctx = Context::create(Backend::cpu, 1);
  PotentialSpec ps;
  ps.widths = {8, 8};
  auto pot = make_potential(ps);
  const auto nu = s.target.sample<double>(ctx, 2000);
  auto F = make_mmd(ctx, nu);
  MongeOptions o;
  o.steps = 20, o.inner = 50, o.lr = 0.05, o.tau = 2, o.batch = 200, o.seed = 1;
  train_monge_map(ctx, *pot, *F, mixture_sampler(s.source), o);
  const auto [err, base] = bures_error(*pot, s);
  EXPECT_LT(err, 0.35) << "identity: " << base;
}

TEST(MongeTrain, ExplicitAndAdamSchemesReduceTheEnergyDistance) {
  Gaussians s;
  Context ctx = Context::create(Backend::cpu, 2);
  const auto src = s.source.sample<double>(ctx, 1000), tgt = s.target.sample<double>(ctx, 1000);
  auto F = make_kl(ctx, s.target);
  for (Method m : {Method::explicit_scheme, Method::adam, Method::euclidean}) {
    PotentialSpec ps;
    ps.widths = {8, 8};
    auto pot = make_potential(ps);
    MongeOptions o;
    o.method = m, o.batch = 200, o.tau = 0.5, o.inner = 30, o.lr = 0.05, o.record_value = false;
    o.steps = m == Method::explicit_scheme ? 8 : 300;
    if (m == Method::euclidean) o.lr = 0.1;  // 0.5 collapses the cloud (GD is unstable there)
    MongeEval ev{&src, &tgt};
    const auto rep = train_monge_map(ctx, *pot, *F, mixture_sampler(s.source), o, ev);
    const double start = [&] {
      auto id = make_potential(ps);
      return metrics::energy_distance(ctx, apply_map(ctx, *id, src), tgt);
    }();
    EXPECT_LT(rep.history.back().energy_distance, 0.1 * start) << to_string(m);
  }
}

TEST(MongeTrain, SameSeedSameMap) {
  Gaussians s;
  auto run = [&] {
    Context ctx = Context::create(Backend::cpu, 0);
    auto pot = make_potential(PotentialSpec{});
    const auto nu = s.target.sample<double>(ctx, 300);
    MongeOptions o;
    o.steps = 2, o.inner = 5, o.seed = 7;
    train_monge_map(ctx, *pot, *make_mmd(ctx, nu), mixture_sampler(s.source), o);
    return pot->params();
  };
  EXPECT_EQ(run(), run());
}

TEST(MongeTrain, BadInputIsRefused) {
  Gaussians s;
  Context ctx = Context::create(Backend::cpu, 0);
  auto pot = make_potential(PotentialSpec{});
  auto F = make_kl(ctx, s.target);
  const Sampler src = mixture_sampler(s.source);
  MongeOptions o;
  o.steps = 1, o.inner = 1;
  auto bad = [&](auto edit) {
    MongeOptions b = o;
    edit(b);
    EXPECT_THROW(train_monge_map(ctx, *pot, *F, src, b), Error);
  };
  bad([](MongeOptions& b) { b.tau = 0; });
  bad([](MongeOptions& b) { b.tau = -1; });
  bad([](MongeOptions& b) { b.steps = 0; });
  bad([](MongeOptions& b) { b.inner = 0; });
  bad([](MongeOptions& b) { b.lr = 0; });
  bad([](MongeOptions& b) { b.batch = 1; });
  targets::GaussianMixture t3(3);
  t3.add(1, {0, 0, 0}, {1.0});
  EXPECT_THROW(train_monge_map(ctx, *pot, *make_kl(ctx, t3), src, o), Error);  // functional d = 3
  targets::GaussianMixture s3(3);
  s3.add(1, {0, 0, 0}, {1.0});
  EXPECT_THROW(train_monge_map(ctx, *pot, *F, mixture_sampler(s3), o), Error);  // source d = 3
  EXPECT_THROW(parse_method("newton"), Error);
  EXPECT_EQ(parse_method("explicit"), Method::explicit_scheme);
  const auto x3 = s3.sample<double>(ctx, 5);
  EXPECT_THROW(apply_map(ctx, *pot, x3), Error);
}

class MapDir : public ::testing::Test {
 protected:
  std::string dir = (std::filesystem::temp_directory_path() / ("monge_map_test_" + std::to_string(::getpid()))).string();
  void TearDown() override { std::filesystem::remove_all(dir); }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir + "/" + name) << text; }
};

TEST_F(MapDir, RoundTripGivesTheSameMap) {
  for (const char* type : {"icnn", "lse"}) {
    PotentialSpec ps;
    ps.type = type, ps.dim = 3, ps.widths = {5, 4}, ps.pieces = 7, ps.s = 0.3, ps.seed = 9;
    auto p = make_potential(ps);
    std::vector<double> th = p->params();
    for (std::size_t k = 0; k < th.size(); ++k) th[k] += 0.01 * double(k % 7);  // not the init
    p->set_params(th);
    save_map(dir, *p, R"({"note": "test"})");
    auto q = load_map(dir);
    EXPECT_EQ(q->spec().type, type);
    EXPECT_EQ(q->params(), p->params());
    const std::vector<double> x{0.1, -0.2, 0.3, 1.0, 0.5, -0.7};
    EXPECT_EQ(q->map(x.data(), 2), p->map(x.data(), 2));
  }
}

TEST_F(MapDir, MalformedDirectoriesAreRefused) {
  EXPECT_THROW(load_map(dir + "/absent"), Error);
  auto p = make_potential(PotentialSpec{});
  save_map(dir, *p);
  std::filesystem::remove(dir + "/params.npy");
  EXPECT_THROW(load_map(dir), Error);  // params.npy missing
  save_map(dir, *p);
  write("manifest.json", "{\"format\": \"flowsampler-monge-map\", \"version\": 1, ");
  EXPECT_THROW(load_map(dir), Error);  // not JSON
  save_map(dir, *p);
  write("manifest.json", R"({"format": "flowsampler-monge-map", "version": 2, "type": "icnn", "dim": 2,
    "num_params": 523, "widths": [20, 20], "skip": true})");
  EXPECT_THROW(load_map(dir), Error);  // unknown version
  write("manifest.json", R"({"format": "flowsampler-monge-map", "version": 1, "type": "icnn", "dim": 2,
    "num_params": 10, "widths": [20, 20], "skip": true})");
  EXPECT_THROW(load_map(dir), Error);  // num_params inconsistent with the shape
  write("manifest.json", R"({"format": "flowsampler-monge-map", "version": 1, "type": "icnn", "dim": 2,
    "widths": [20, 20], "skip": true})");
  EXPECT_THROW(load_map(dir), Error);  // num_params missing
  write("manifest.json", R"({"format": "flowsampler-monge-map", "version": 1, "type": "resnet", "dim": 2,
    "num_params": 10})");
  EXPECT_THROW(load_map(dir), Error);  // unknown type
  save_map(dir, *p);
  const std::vector<double> short_params(5, 0.0);
  io::write_npy_array<double>(dir + "/params.npy", short_params.data(), {5});
  EXPECT_THROW(load_map(dir), Error);  // params.npy of the wrong length
  write("params.npy", "not an npy file");
  EXPECT_THROW(load_map(dir), Error);
}

}  // namespace
