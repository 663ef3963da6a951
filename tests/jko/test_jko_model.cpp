// The JKO flow model: inversion of the training points, generation from
// fresh noise, and the model directory.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "flowsampler/core/error.hpp"
#include "flowsampler/io/npy.hpp"
#include "flowsampler/jko/model.hpp"
#include "flowsampler/metrics/mmd.hpp"

namespace fs = flowsampler;
using fs::Backend;
using fs::Context;
using fs::ParticleSet;

namespace {

fs::targets::GaussianMixture standard_normal(std::size_t d) {
  fs::targets::GaussianMixture g(d);
  g.add(1, std::vector<double>(d, 0.0), {1.0});
  return g;
}

// A 2-D mixture of three well-separated Gaussians (the data).
fs::targets::GaussianMixture three_blobs() {
  fs::targets::GaussianMixture g(2);
  g.add(0.3, {-2, 0}, {0.15});
  g.add(0.4, {2, 1}, {0.3, 0.1, 0.1, 0.2});
  g.add(0.3, {0.5, -2.5}, {0.1});
  return g;
}

std::string temp_dir(const std::string& name) {
  const auto p = std::filesystem::temp_directory_path() / ("flowsampler_jko_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  return p.string();
}

fs::jko::JkoModel<double> small_model(Context& ctx, std::size_t n, std::size_t steps, double h,
                                      fs::jko::FlowResult<double>* result = nullptr) {
  const ParticleSet<double> data = three_blobs().sample<double>(ctx, n);
  fs::jko::FlowOptions o;
  o.schedule = fs::jko::StepSchedule::constant(h);
  o.max_steps = steps;
  o.diagnostic_points = 0;
  return fs::jko::JkoModel<double>::train(ctx, standard_normal(2), {}, data, o, result);
}

TEST(JkoModel, InvertsTheTrainingPoints) {
  Context ctx = Context::create(Backend::cpu, 3);
  fs::jko::FlowResult<double> r;
  const auto model = small_model(ctx, 512, 4, 0.2, &r);
  ASSERT_EQ(model.steps(), 4u);
  const auto e = model.inversion_error(ctx);
  std::printf("inversion error: rms %.3e, relative %.3e, max %.3e\n", e.rms, e.relative, e.max);
  EXPECT_LT(e.relative, 1e-6);
  ASSERT_EQ(e.per_step.size(), 4u);
  // One block: S_k(X_{k+1}) - X_k = -h_k r_k, so its rms is h_k eps_k.
  for (std::size_t k = 0; k < 4; ++k) EXPECT_NEAR(e.per_step[k], 0.2 * r.records[k + 1].solver_eps, 1e-3 * 0.2 * r.records[k + 1].solver_eps + 1e-15);
  // The reverse step is not the identity: it undoes a real move.
  EXPECT_GT(fs::metrics::energy_distance(ctx, model.clouds().front(), model.clouds().back()), 0.1);
}

TEST(JkoModel, GeneratesSamplesCloserToHeldOutDataThanTheNoise) {
  // Energy distance to 1000 held-out data points: generated samples (a model
  // trained on 1000 points, 10 steps of h = 0.5) against fresh N(0, I) noise.
  Context ctx = Context::create(Backend::cpu, 12);
  const auto model = small_model(ctx, 1000, 10, 0.5);
  const ParticleSet<double> held = three_blobs().sample<double>(ctx, 1000);
  const ParticleSet<double> gen = model.generate(ctx, 1000);
  const ParticleSet<double> noise = standard_normal(2).sample<double>(ctx, 1000);
  const double eg = fs::metrics::energy_distance(ctx, gen, held), en = fs::metrics::energy_distance(ctx, noise, held);
  const double et = fs::metrics::energy_distance(ctx, three_blobs().sample<double>(ctx, 1000), held);
  std::printf("energy distance to held-out data: generated %.4f, noise %.4f, fresh data %.4f\n", eg, en, et);
  EXPECT_LT(eg, 0.2 * en);
}

TEST(JkoModel, SavesAndLoads) {
  Context ctx = Context::create(Backend::cpu, 5);
  const auto model = small_model(ctx, 200, 2, 0.3);
  const std::string dir = temp_dir("save");
  model.save(dir);
  const auto back = fs::jko::JkoModel<double>::load(ctx, dir);
  ASSERT_EQ(back.steps(), 2u);
  EXPECT_EQ(back.step_sizes(), model.step_sizes());
  for (std::size_t k = 0; k < 2; ++k) EXPECT_DOUBLE_EQ(back.score()[k].bandwidth, model.score()[k].bandwidth);
  for (std::size_t k = 0; k <= 2; ++k) EXPECT_EQ(back.clouds()[k].to_host(), model.clouds()[k].to_host());
  // The same reverse process: identical generation from the same noise.
  const ParticleSet<double> y = standard_normal(2).sample<double>(ctx, 50);
  EXPECT_EQ(back.reverse(ctx, y).to_host(), model.reverse(ctx, y).to_host());
  // A float load of a double model works (converted).
  EXPECT_EQ(fs::jko::JkoModel<float>::load(ctx, dir).steps(), 2u);
  std::filesystem::remove_all(dir);
}

TEST(JkoModel, MissingOrInconsistentModelsAreErrors) {
  Context ctx = Context::create(Backend::cpu, 5);
  EXPECT_THROW(fs::jko::JkoModel<double>::load(ctx, temp_dir("nothing")), fs::Error);
  const auto model = small_model(ctx, 100, 2, 0.3);
  const std::string dir = temp_dir("bad");
  const std::string manifest = dir + "/manifest.json";
  auto fresh = [&] {
    std::filesystem::remove_all(dir);
    model.save(dir);
  };
  auto edit = [&](const std::function<void(nlohmann::json&)>& f) {
    nlohmann::json j;
    std::ifstream(manifest) >> j;
    f(j);
    std::ofstream(manifest) << j.dump();
  };
  fresh();
  std::filesystem::remove(dir + "/X_001.npy");
  EXPECT_THROW(fs::jko::JkoModel<double>::load(ctx, dir), fs::Error);
  fresh();
  std::filesystem::remove(manifest);
  EXPECT_THROW(fs::jko::JkoModel<double>::load(ctx, dir), fs::Error);
  fresh();
  std::ofstream(manifest) << "{not json";
  EXPECT_THROW(fs::jko::JkoModel<double>::load(ctx, dir), fs::Error);
  fresh();
  edit([](nlohmann::json& j) { j["h"] = {0.3}; });
  EXPECT_THROW(fs::jko::JkoModel<double>::load(ctx, dir), fs::Error);
  fresh();
  edit([](nlohmann::json& j) { j.erase("score"); });
  EXPECT_THROW(fs::jko::JkoModel<double>::load(ctx, dir), fs::Error);
  fresh();
  edit([](nlohmann::json& j) { j["dim"] = 3; });
  EXPECT_THROW(fs::jko::JkoModel<double>::load(ctx, dir), fs::Error);
  fresh();
  {
    const std::vector<double> rows(2 * 99, 0.5);  // one particle short
    fs::io::write_npy(dir + "/X_002.npy", rows.data(), 99, 2);
  }
  EXPECT_THROW(fs::jko::JkoModel<double>::load(ctx, dir), fs::Error);
  std::filesystem::remove_all(dir);
  // Bad construction and use.
  std::vector<ParticleSet<double>> one;
  one.push_back(model.clouds()[0].copy(ctx));
  EXPECT_THROW(fs::jko::JkoModel<double>(standard_normal(2), std::move(one), {}, {}), fs::Error);
  EXPECT_THROW(model.reverse(ctx, standard_normal(3).sample<double>(ctx, 5)), fs::Error);
  EXPECT_THROW(fs::jko::JkoModel<double>::train(ctx, standard_normal(3), {}, model.clouds()[0], {}), fs::Error);
}

}  // namespace
