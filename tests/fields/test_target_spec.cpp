#include <gtest/gtest.h>

#include <cstdio>

#include "flowsampler/core/error.hpp"
#include "flowsampler/io/npy.hpp"
#include "flowsampler/targets/spec.hpp"

namespace fs = flowsampler;

namespace {
std::string error_of(const std::string& text) {
  try {
    fs::targets::parse_target(text, "t.json");
  } catch (const fs::Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(TargetSpec, ParsesTheDesignExample) {
  const auto g = fs::targets::parse_target(
      R"({"type": "gaussian_mixture", "dim": 2, "weights": [0.3, 0.7],
          "means": [[-2, 0], [2, 1]], "covariances": [0.25, [[1, 0.3], [0.3, 0.5]]]})");
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g.dim(), 2u);
  EXPECT_NEAR(g.weights()[1], 0.7, 1e-15);
  EXPECT_EQ(g.kind(0), fs::targets::Covariance::isotropic);
  EXPECT_EQ(g.kind(1), fs::targets::Covariance::full);
  const auto S = g.covariance(1);
  EXPECT_NEAR(S[1], 0.3, 1e-12);
  EXPECT_NEAR(S[3], 0.5, 1e-12);
  const auto d = fs::targets::parse_target(
      R"({"type": "gaussian_mixture", "dim": 2, "weights": [2], "means": [[0, 0]], "covariances": [[1, 2]]})");
  EXPECT_EQ(d.kind(0), fs::targets::Covariance::diagonal);
  // The mixture's moments by hand: weights 0.3, 0.7; means (-2, 0), (2, 1).
  const auto m = fs::targets::mixture_mean(g);
  const auto C = fs::targets::mixture_covariance(g);
  const double mx = 0.3 * -2 + 0.7 * 2, my = 0.7;
  EXPECT_NEAR(m[0], mx, 1e-14);
  EXPECT_NEAR(m[1], my, 1e-14);
  EXPECT_NEAR(C[0], 0.3 * (0.25 + 4) + 0.7 * (1 + 4) - mx * mx, 1e-12);
  EXPECT_NEAR(C[1], 0.7 * (0.3 + 2) - mx * my, 1e-12);
  EXPECT_NEAR(C[2], C[1], 0);
  EXPECT_NEAR(C[3], 0.3 * 0.25 + 0.7 * (0.5 + 1) - my * my, 1e-12);
  // Moved by (1e12, -3): the same weights and covariances, the means moved;
  // the covariance is still the one above (taken about the mean, no 1e24 cancels).
  const auto t = g.translated({1e12, -3});
  EXPECT_EQ(t.mean(1)[0], 2 + 1e12);
  EXPECT_EQ(t.mean(1)[1], -2.0);
  EXPECT_EQ(t.kind(1), fs::targets::Covariance::full);
  EXPECT_EQ(t.covariance(1), g.covariance(1));
  const auto Ct = fs::targets::mixture_covariance(t);
  EXPECT_NEAR(Ct[0], C[0], 1e-3);
  EXPECT_NEAR(Ct[3], C[3], 1e-12);
  EXPECT_THROW(g.translated({1.0}), fs::Error);
}

// Noise covariances are written like spec covariances.
TEST(TargetSpec, NoiseCovarianceFromJson) {
  EXPECT_TRUE(fs::targets::parse_noise("2.0", 2).is_isotropic());
  EXPECT_EQ(fs::targets::parse_noise("2.0", 2).sigma2(), 2.0);
  const auto diag = fs::targets::parse_noise("[1, 4]", 2).sqrt_matrix(2);
  EXPECT_NEAR(diag[3], 2.0, 1e-15);
  const auto full = fs::targets::parse_noise("[[1, 0.2], [0.2, 0.5]]", 2);
  EXPECT_FALSE(full.is_isotropic());
  for (const char* bad : {"-1", "[1, 2, 3]", "[[1, 2], [3, 4]]", "oops", "[[1, 0], [0]]"}) {
    try {
      fs::targets::parse_noise(bad, 2, "--noise-cov");
      ADD_FAILURE() << bad;
    } catch (const fs::Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("--noise-cov", 0), 0u) << e.what();
    }
  }
}

TEST(TargetSpec, ErrorsNameTheOffendingEntry) {
  const std::string head = R"({"type": "gaussian_mixture", "dim": 2, "weights": [0.3, 0.7], "means": [[-2, 0], [2, 1]], )";
  EXPECT_NE(error_of(head + R"("covariances": [0.25, [[1, 0.3], [0.2, 0.5]]]})").find("component 1 covariance: not symmetric"), std::string::npos);
  EXPECT_NE(error_of(head + R"("covariances": [0.25, [[1, 2], [2, 1]]]})").find("not positive definite"), std::string::npos);
  EXPECT_NE(error_of(head + R"("covariances": [0.25, [1, 2, 3]]})").find("covariances[1]: a diagonal covariance needs 2"), std::string::npos);
  EXPECT_NE(error_of(head + R"("covariances": [0.25]})").find("must list 2 covariances"), std::string::npos);
  EXPECT_NE(error_of(head + R"("covariances": [-1, 1]})").find("component 0 covariance: isotropic variance"), std::string::npos);
  EXPECT_NE(error_of(R"({"type": "gaussian_mixture", "dim": 2, "weights": [-1], "means": [[0, 0]], "covariances": [1]})").find("component 0: weight"), std::string::npos);
  EXPECT_NE(error_of(R"({"type": "gaussian_mixture", "dim": 2, "weights": [1], "means": [[0]], "covariances": [1]})").find("means[0]: has 1 entries"), std::string::npos);
  EXPECT_NE(error_of(R"({"type": "gaussian_mixture", "dim": 2, "weights": [1], "means": [[0, "x"]], "covariances": [1]})").find("means[0][1]: expected a number"), std::string::npos);
  EXPECT_NE(error_of(R"({"type": "mixture"})").find("\"type\" must be"), std::string::npos);
  EXPECT_NE(error_of(R"({"type": "gaussian_mixture", "weights": [1]})").find("missing \"dim\""), std::string::npos);
  EXPECT_NE(error_of("{not json").find("invalid JSON"), std::string::npos);
  EXPECT_NE(error_of("[1, 2]").find("expected a JSON object"), std::string::npos);
}

TEST(TargetSpec, EmpiricalAtomsFromNpyRelativeToTheSpec) {
  const std::string dir = ::testing::TempDir();
  const double atoms[6] = {0, 1, 2, 3, 4, 5};
  fs::io::write_npy(dir + "/atoms.npy", atoms, 3, 2);
  {
    std::FILE* f = std::fopen((dir + "/emp.json").c_str(), "w");
    std::fputs(R"({"type": "empirical", "points": "atoms.npy"})", f);
    std::fclose(f);
  }
  const auto g = fs::targets::load_target(dir + "/emp.json");
  EXPECT_TRUE(g.has_atoms());
  EXPECT_EQ(g.size(), 3u);
  EXPECT_EQ(g.mean(2)[1], 5.0);
  EXPECT_THROW(fs::targets::parse_target(R"({"type": "empirical", "points": "missing.npy"})", "e.json", dir), fs::Error);
  EXPECT_THROW(fs::targets::load_target(dir + "/nope.json"), fs::Error);
}
