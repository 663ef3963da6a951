// `flowsampler reproduce NAME --quick`: each reproduction runs, writes its
// files, and the inequalities its seed proves hold on the numbers it wrote
// (recomputed here from result.json with their stated tolerances, not read
// from its own verdicts). Bad input exits 2.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/run_cli.hpp"

namespace {

const auto run = flowsampler::test::run_cli;
using Json = nlohmann::json;

Json reproduce(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/reproduce-" + name;
  std::filesystem::remove_all(dir);
  EXPECT_EQ(run("reproduce " + name + " --quick --seed 3 --backend cpu --out " + dir), 0) << name;
  EXPECT_TRUE(std::filesystem::exists(dir + "/table.md")) << name;
  EXPECT_TRUE(std::filesystem::exists(dir + "/" + name + ".json")) << name << ": figure spec";
  std::ifstream f(dir + "/result.json");
  EXPECT_TRUE(f.good()) << name << ": result.json";
  if (!f.good()) return Json::object();
  Json j = Json::parse(f);
  EXPECT_EQ(j["experiment"], name);
  EXPECT_TRUE(j["all_checks_hold"].get<bool>()) << name;
  return j;
}

double num(const Json& j, const char* key) { return j.at(key).get<double>(); }

// A result.json's check by id.
const Json& check_by_id(const Json& j, const std::string& id) {
  for (const auto& c : j.at("checks"))
    if (c.at("id") == id) return c;
  ADD_FAILURE() << "no check " << id;
  static const Json none = Json::object();
  return none;
}

}  // namespace

TEST(CliReproduce, KimMilmanChain) {
  const Json j = reproduce("km-stability");
  ASSERT_EQ(j["cases"].size(), 4u);  // d = 2, 16 x Gaussian, mixture
  for (const auto& c : j["cases"]) {
    const double alpha = num(c, "alpha"), rk4 = num(c, "rk4_error");
    EXPECT_GT(alpha, 0);
    EXPECT_GE(num(c, "alpha_on_sample"), alpha * (1 - 1e-9));  // log-concave on the sample
    ASSERT_GE(c["perturbations"].size(), 5u);
    for (const auto& r : c["perturbations"]) {
      const double D = num(r, "map_distance"), se = num(r, "map_distance_sq_se");
      const double fi = num(r, "fisher"), fi_se = num(r, "fisher_se");
      const double slack = 10 * rk4 * (D + rk4);
      // W2 >= Gelbrich (exact moments) and W2 <= ||T^mu - T^nu|| (a coupling): within 3 standard errors.
      EXPECT_LE(std::pow(num(r, "gelbrich"), 2), D * D + 3 * se + slack) << c["mu"] << " s = " << r["s"];
      // Corollary 3.4: ||T^mu - T^nu||^2 <= FI / alpha^2.
      EXPECT_LE(D * D, fi / (alpha * alpha) + 3 * std::hypot(se, fi_se / (alpha * alpha)) + slack) << c["mu"] << " s = " << r["s"];
      // The exact assignment never costs more than the identity pairing of the same rows.
      EXPECT_LE(num(r, "w2_subsample"), num(r, "map_distance_subsample") * (1 + 1e-9) + 1e-12);
    }
    // Proposition 3.1 at finite horizons; its Lambda_T by quadrature matches the closed form.
    for (const auto& r : c["finite_horizon"]["rows"]) {
      EXPECT_LE(num(r, "map_distance"), num(r, "bound") * 1.05) << "T = " << r["horizon"];
      EXPECT_NEAR(num(r, "lambda_quadrature"), num(r, "lambda_closed_form"), 1e-6 * num(r, "lambda_closed_form"));
    }
    // Kim-Milman contraction: Lip(T_KM^mu) <= alpha^-1/2.
    EXPECT_LE(num(c["lipschitz"], "max"), (1 + 1e-4) / std::sqrt(alpha));
  }
}

TEST(CliReproduce, FlowMatchingGaussianMap) {
  const Json j = reproduce("fm-gaussian-map");
  ASSERT_GE(j["angles"].size(), 3u);
  bool saw_commuting = false, saw_rotated = false;
  for (const auto& r : j["angles"]) {
    const double scale = num(r, "scale");
    for (const auto& [path, err] : r["path_error"].items()) EXPECT_LE(err.get<double>(), 1e-6 * scale) << path << " theta = " << r["theta"];
    EXPECT_LE(num(r, "spread"), 2e-6 * scale);
    const double fm_ot = num(r, "fm_ot"), closed = num(r, "fm_ot_closed_form");
    if (num(r, "commutator") < 1e-12) {  // commuting covariances: the flow map is the Brenier map
      saw_commuting = true;
      EXPECT_LE(fm_ot, 2e-6 * scale);
    } else {  // otherwise it is not, by the closed-form distance (Monte Carlo within 4 standard errors)
      saw_rotated = true;
      EXPECT_GT(closed, 1e-3);
      EXPECT_NEAR(fm_ot * fm_ot, closed * closed, 4 * num(r, "fm_ot_sq_se") + 2e-6 * scale * scale);
    }
  }
  EXPECT_TRUE(saw_commuting && saw_rotated);
  EXPECT_LE(num(j["d8"], "path_error_max"), 1e-5);
}

TEST(CliReproduce, GaussianClosures) {
  const Json j = reproduce("closures");
  ASSERT_EQ(j["rows"].size(), 5u);
  for (const auto& r : j["rows"]) {
    const double tol = num(r, "tolerance");
    EXPECT_LE(tol, 0.05);
    EXPECT_LE(num(r, "max_cov_deviation"), tol) << r["row"];
  }
  // The geodesic's particles carry the Bures geodesic's covariance (Monte Carlo, a few percent).
  for (const auto& s : j["figure"]["geodesic"])
    EXPECT_NEAR(num(s, "cov_trace_particles"), num(s, "cov_trace_geodesic"), 0.15 * num(s, "cov_trace_geodesic"));
}

TEST(CliReproduce, FollmerComplexity) {
  const Json j = reproduce("follmer-complexity");
  for (const auto& c : j["cases"]) {
    const auto& err = c["errors"];
    ASSERT_GE(err.size(), 3u);
    if (c["method"] != "euler") continue;
    // Euler is first order: the error falls with K, at a fitted rate near 1.
    EXPECT_LT(err.back().get<double>(), err.front().get<double>());
    EXPECT_GE(num(c, "order_p"), 0.8);
    EXPECT_LE(num(c, "order_p"), 1.25);
  }
  for (const auto& f : j["fits"]) {
    if (f["method"] != "euler") continue;
    if (f["noise"] == "isotropic")
      EXPECT_LE(num(f, "slope_vs_sqrt_trace"), 1.15);  // no worse than linear in sqrt(tr Sigma)
    else
      EXPECT_LE(num(f, "k_ratio_dmax_dmin"), 1.15 * num(f, "sqrt_trace_ratio"));  // dimension-free for trace-class Sigma
  }
}

TEST(CliReproduce, BadInputExits2) {
  const std::string dir = ::testing::TempDir() + "/reproduce-bad";
  EXPECT_EQ(run("reproduce nonsense --out " + dir), 2);
  EXPECT_EQ(run("reproduce km-stability"), 2);  // no --out
  EXPECT_EQ(run("reproduce km-stability --quick --backend tpu --out " + dir), 2);
}

TEST(CliReproduce, JkoConvergence) {
  const Json j = reproduce("jko-convergence");
  const auto& claims = j["claims"];
  ASSERT_GE(claims.size(), 3u);
  // Theorem 4.3 (lambda = 1 for KL to N(0, I)): W2 contracts at least like (1 + h)^-k, fitted above its floor.
  EXPECT_GE(num(claims[0], "measured_rate"), 0.8 * num(claims[0], "theory_rate"));
  EXPECT_NEAR(num(claims[0], "theory_rate"), std::log1p(num(j, "h")), 1e-12);
  // Assumption 1: every step converged below its own tolerance (tolerances shrink with the flow, so not the max).
  EXPECT_TRUE(claims[1]["holds"].get<bool>());
  ASSERT_EQ(j["eps"].size(), j["tol"].size());
  for (std::size_t k = 0; k < j["eps"].size(); ++k) EXPECT_LE(j["eps"][k].get<double>(), j["tol"][k].get<double>()) << "step " << k;
  EXPECT_LT(num(claims[2], "relative"), 1e-6);  // the reverse process inverts the forward one
}

TEST(CliReproduce, Monge) {
  const Json j = reproduce("monge");
  for (const char* key : {"claim", "backend", "wall_seconds", "quick", "seed"}) EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_GE(j["claims"].get<int>(), 12);
  for (const auto& c : j["checks"]) EXPECT_FALSE(c["why"].get<std::string>().empty()) << c["id"];
  // Theorem 2.13 / Corollary 2.17 on the exact flow, d = 2, 8, 32: the KL gap
  // within e^-2 lambda t and the map distance within e^-lambda t of their
  // start, and near those rates (the bounds are attained by the mean's mode).
  ASSERT_EQ(j["theory"]["dimensions"].size(), 3u);
  for (const auto& dj : j["theory"]["dimensions"]) {
    const double lambda = num(dj, "lambda");
    EXPECT_NEAR(lambda, 0.5, 1e-12);
    const auto &t = dj["t"], &e = dj["map_distance"], &g = dj["kl_gap"];
    double worst_map = 0, worst_gap = 0;
    for (std::size_t k = 0; k < t.size(); ++k) {
      worst_map = std::max(worst_map, e[k].get<double>() / e[0].get<double>() * std::exp(lambda * t[k].get<double>()));
      worst_gap = std::max(worst_gap, g[k].get<double>() / g[0].get<double>() * std::exp(2 * lambda * t[k].get<double>()));
    }
    EXPECT_LE(worst_map, 1 + 1e-6) << dj["d"];
    EXPECT_LE(worst_gap, 1 + 1e-6) << dj["d"];
    EXPECT_GE(worst_map, 0.5) << dj["d"];  // near-sharp: a factor-2 error would cross 1
    const std::size_t last = t.size() - 1, q = last * 3 / 4;
    const double late = -std::log(e[last].get<double>() / e[q].get<double>()) / (t[last].get<double>() - t[q].get<double>());
    EXPECT_NEAR(late, lambda, 0.02 * lambda) << dj["d"];
    if (dj.contains("implicit")) {  // Proposition 3.1
      const double tau = num(dj["implicit"], "tau");
      const auto& ek = dj["implicit"]["map_distance"];
      for (std::size_t k = 0; k < ek.size(); ++k)
        EXPECT_LE(ek[k].get<double>(), std::pow(1 + tau * lambda, -double(k)) * ek[0].get<double>() * (1 + 1e-9)) << "k = " << k;
      EXPECT_GE(ek.back().get<double>(), 0.5 * std::pow(1 + tau * lambda, -double(ek.size() - 1)) * ek[0].get<double>());
    }
  }
  // Proposition 3.3: first order in tau.
  const auto& err = j["theory"]["prop3_3"]["error"];
  ASSERT_GE(err.size(), 2u);
  for (std::size_t k = 1; k < err.size(); ++k) EXPECT_LT(err[k].get<double>(), err[k - 1].get<double>());
  EXPECT_NEAR(std::log2(err[err.size() - 2].get<double>() / err.back().get<double>()), 1, 0.1);
  // The library's implicit scheme: the pushed mean along u contracts by
  // (1 + tau lambda)^-1 per step (fitted from the recorded means).
  {
    const auto& g = j["gaussian"];
    const double tau = num(g, "tau"), lambda = num(g, "lambda"), u0 = g["u"][0], u1 = g["u"][1];
    std::vector<double> logs;
    const auto& it = g["iterates"];
    for (std::size_t k = 0; k + 1 < it.size(); ++k) {
      auto along = [&](const Json& m) { return u0 * m["mean"][0].get<double>() + u1 * m["mean"][1].get<double>(); };
      logs.push_back(std::log(along(it[k + 1]) / along(it[k])));
    }
    double s = 0, s2 = 0;
    for (double v : logs) s += v, s2 += v * v;
    const double K = double(logs.size()), m = s / K, se = std::exp(m) * std::sqrt((s2 / K - m * m) / (K - 1));
    EXPECT_NEAR(std::exp(m), num(g, "mean_factor"), 1e-9);
    EXPECT_NEAR(std::exp(m), 1 / (1 + tau * lambda), 3 * se);
    EXPECT_LT(3 * se, 1 / (1 + tau * lambda) - 1 / (1 + 2 * tau * lambda));  // a rate off by 2x would be told apart
  }
  // Corollary 3.8: the step is the natural-gradient one, not the Euclidean one.
  for (const auto& r : j["natural_gradient"]["rows"]) {
    EXPECT_LE(num(r, "relative_error_natural"), 0.25) << r["tau"];
    EXPECT_GE(num(r, "relative_error_euclidean"), 0.5) << r["tau"];
  }
  // Figure 2: the paired ratios recomputed from the per-seed energy distances.
  const auto& methods = j["figure2"]["methods"];
  ASSERT_EQ(methods.size(), 4u);
  for (const auto& r : j["figure2"]["paired_ratios"]) {
    const std::string id = r["check"];
    const std::size_t a = std::size_t(id[5] - 'a'), b = std::size_t(id.back() - 'a');
    double sx = 0, sy = 0;
    std::vector<double> x, y;
    for (std::size_t k = 0; k < methods[a]["energy_distance"].size(); ++k) {
      const auto &u = methods[a]["energy_distance"][k], &v = methods[b]["energy_distance"][k];
      if (u.is_null() || v.is_null()) continue;
      x.push_back(u.get<double>()), y.push_back(v.get<double>()), sx += x.back(), sy += y.back();
    }
    ASSERT_GE(x.size(), 2u);
    const double ratio = sx / sy, n = double(x.size());
    double ss = 0;
    for (std::size_t k = 0; k < x.size(); ++k) ss += std::pow(x[k] - ratio * y[k], 2);
    const double se = std::sqrt(ss / (n - 1) / n) / (sy / n);
    EXPECT_NEAR(ratio, num(r, "ratio"), 1e-9 * ratio) << id;
    const Json& c = check_by_id(j, id);
    EXPECT_EQ(c["kind"], "claim");
    EXPECT_NEAR(num(c, "measured"), ratio + 2 * se, 1e-9) << id;
    EXPECT_LE(ratio + 2 * se, 1) << id;  // the seeds show the ordering
  }
}

// A factor-2 error in a computed quantity makes a claim fail: the run exits 1.
TEST(CliReproduce, MongePerturbedFails) {
  const std::string dir = ::testing::TempDir() + "/reproduce-monge-perturbed";
  std::filesystem::remove_all(dir);
  EXPECT_EQ(run("reproduce monge --quick --seed 3 --backend cpu --perturb prop3.1/d2=2 --out " + dir), 1);
  std::ifstream f(dir + "/result.json");
  ASSERT_TRUE(f.good());
  const Json j = Json::parse(f);
  EXPECT_FALSE(j["claims_hold"].get<bool>());
  EXPECT_FALSE(check_by_id(j, "prop3.1/d2")["holds"].get<bool>());
}
