// `flowsampler sample` end to end: the samples of a two-component mixture have
// the mixture's mean and covariance (closed form), within Monte Carlo error.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/run_cli.hpp"
#include "flowsampler/io/npy.hpp"

namespace fs = flowsampler;

namespace {
const auto run = flowsampler::test::run_cli;
}  // namespace

TEST(CliSample, SamplesHaveTheMixtureMoments) {
  const std::string dir = ::testing::TempDir();
  const std::string out = dir + "/cli_samples.npy", report = dir + "/cli_report.json";
  for (const std::string path : {"linear --steps 30", "cosine --schedule logsnr --steps 30",
                                 "vp --horizon 6 --schedule karras --steps 30",
                                 "vp --horizon 6 --integrator sde --steps 400"}) {
    ASSERT_EQ(run("sample --target " FLOWSAMPLER_EXAMPLES "/targets/two_blobs.json --path " + path +
                  " --n 100000 --seed 4 --precision double --out " + out + " --report " + report),
              0);
    const auto m = fs::io::load_npy(out);
    ASSERT_EQ(m.n, 100000u);
    ASSERT_EQ(m.d, 2u);
    double mx = 0, my = 0;
    for (std::size_t i = 0; i < m.n; ++i) mx += m.value(i, 0), my += m.value(i, 1);
    mx /= m.n, my /= m.n;
    double cxx = 0, cxy = 0, cyy = 0;
    for (std::size_t i = 0; i < m.n; ++i) {
      const double dx = m.value(i, 0) - mx, dy = m.value(i, 1) - my;
      cxx += dx * dx, cxy += dx * dy, cyy += dy * dy;
    }
    cxx /= m.n, cxy /= m.n, cyy /= m.n;
    // weights 0.3, 0.7; means (-2, 0), (2, 1); covariances 0.25 I and [[1, .3], [.3, .5]]
    const double wx = 0.3 * -2 + 0.7 * 2, wy = 0.7 * 1;
    const double exx = 0.3 * (0.25 + 4) + 0.7 * (1 + 4) - wx * wx;
    const double exy = 0.3 * 0 + 0.7 * (0.3 + 2) - wx * wy;
    const double eyy = 0.3 * 0.25 + 0.7 * (0.5 + 1) - wy * wy;
    EXPECT_NEAR(mx, wx, 0.03) << path;
    EXPECT_NEAR(my, wy, 0.02) << path;
    EXPECT_NEAR(cxx, exx, 0.06) << path;
    EXPECT_NEAR(cxy, exy, 0.03) << path;
    EXPECT_NEAR(cyy, eyy, 0.02) << path;
    std::ifstream r(report);
    const std::string text((std::istreambuf_iterator<char>(r)), std::istreambuf_iterator<char>());
    if (path.find("sde") == std::string::npos) {
      EXPECT_NE(text.find("\"nfe\": 120"), std::string::npos) << text;
    }
  }
}

TEST(CliSample, BadInputExitsTwo) {
  const std::string t = FLOWSAMPLER_EXAMPLES "/targets/two_blobs.json";
  const std::string out = ::testing::TempDir() + "/bad.npy";
  EXPECT_EQ(run("sample --target /does/not/exist.json --out " + out), 2);
  EXPECT_EQ(run("sample --target " + t + " --path brownian --out " + out), 2);
  EXPECT_EQ(run("sample --target " + t + " --steps 0 --out " + out), 2);
  EXPECT_EQ(run("sample --target " + t + " --integrator rk45 --out " + out), 2);
  EXPECT_EQ(run("sample --target " + t + " --early-stop 1.5 --out " + out), 2);
  EXPECT_EQ(run("sample --target " + t), 2);  // --out is required
  EXPECT_EQ(run("sample --target " + t + " --schedule cosine --out " + out), 2);
  EXPECT_EQ(run("sample --target " + t + " --path overshoot --schedule logsnr --out " + out), 2);
}

TEST(CliSample, ProgressGoesToStderrOnRequest) {
  const std::string dir = ::testing::TempDir();
  const std::string err = dir + "/progress.txt";
  const std::string cmd = std::string(FLOWSAMPLER_CLI) + " sample --target " FLOWSAMPLER_EXAMPLES
                          "/targets/two_blobs.json --n 100 --steps 7 --progress --out " + dir + "/p.npy 2> " + err;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream f(err);
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("step 7/7"), std::string::npos) << text;
}

// A target 100x narrower than the noise makes the vp flow stiff near the data
// end: rk4 with 50 steps leaves the covariance ~27% off (the exact law is
// known), which the report flags and stderr warns about; 1000 steps are
// accurate and pass. The ring of 8 with the main job's settings passes too.
TEST(CliSample, ReportFlagsAnIntegrationErrorAboveTheMonteCarloError) {
  const std::string dir = ::testing::TempDir();
  {
    std::ofstream t(dir + "/narrow.json");
    t << R"({"type": "gaussian_mixture", "dim": 2, "weights": [1], "means": [[0, 0]], "covariances": [0.01]})";
  }
  const auto quality = [&](const std::string& args) {
    const auto [rc, err] = flowsampler::test::run_cli_stderr("sample " + args + " --n 20000 --out " + dir +
                                                             "/q.npy --report " + dir + "/q.json");
    EXPECT_EQ(rc, 0) << err;
    std::ifstream f(dir + "/q.json");
    const nlohmann::json q = nlohmann::json::parse(f)["quality"];
    return std::make_pair(q, err);
  };
  const auto [stiff, stiff_err] = quality("--target " + dir + "/narrow.json --path vp --steps 50");
  EXPECT_GT(stiff["covariance_relative_error"].get<double>(), 0.1);
  EXPECT_FALSE(stiff["consistent_with_exact_law"].get<bool>());
  EXPECT_NE(stiff_err.find("warning: the samples depart from the exact law"), std::string::npos) << stiff_err;
  const auto [fine, fine_err] = quality("--target " + dir + "/narrow.json --path vp --steps 1000");
  EXPECT_LT(fine["covariance_relative_error"].get<double>(), 0.03);
  EXPECT_TRUE(fine["consistent_with_exact_law"].get<bool>());
  EXPECT_EQ(fine_err.find("warning"), std::string::npos) << fine_err;
  // The ring's whole-cloud figures cannot see its components come out 4% too
  // narrow on 100 uniform heun steps; the predicted spread error does (and
  // tests/cli/test_spread_warning.cpp checks that prediction on the samples).
  const std::string ring8 = "--target " FLOWSAMPLER_EXAMPLES "/targets/ring8.json --path vp --integrator heun --steps 100";
  const auto [ring, ring_err] = quality(ring8);
  EXPECT_TRUE(ring["consistent_with_exact_law"].get<bool>());
  EXPECT_EQ(ring_err.find("depart from the exact law"), std::string::npos) << ring_err;
  EXPECT_NE(ring_err.find("warning: with 100 heun steps the spread"), std::string::npos) << ring_err;
  const auto [logsnr, logsnr_err] = quality(ring8 + " --schedule logsnr");
  EXPECT_TRUE(logsnr["consistent_with_exact_law"].get<bool>());
  EXPECT_EQ(logsnr_err.find("warning"), std::string::npos) << logsnr_err;
}

// --log-likelihood: for a Gaussian target the values are the target's log-density
// at the samples (the flow is exact), here N(0, 2 I) in d = 1.
TEST(CliSample, LogLikelihoodOfAGaussianTarget) {
  const std::string dir = ::testing::TempDir();
  {
    std::ofstream t(dir + "/g.json");
    t << R"({"type": "gaussian_mixture", "dim": 1, "weights": [1], "means": [[0]], "covariances": [2.0]})";
  }
  ASSERT_EQ(run("sample --target " + dir + "/g.json --n 50 --steps 40 --precision double --out " + dir +
                "/g.npy --log-likelihood " + dir + "/ll.npy"),
            0);
  const auto x = fs::io::load_npy(dir + "/g.npy"), ll = fs::io::load_npy(dir + "/ll.npy");
  ASSERT_EQ(ll.n, 50u);
  for (std::size_t i = 0; i < 50; ++i) {
    const double v = x.value(i, 0);
    EXPECT_NEAR(ll.value(i, 0), -v * v / 4 - 0.5 * std::log(2 * M_PI * 2), 1e-6);
  }
  EXPECT_EQ(run("sample --target " + dir + "/g.json --integrator ddim --out " + dir + "/g.npy --log-likelihood " + dir +
                "/ll.npy"),
            2);
}

// --trajectory: a (J, N, d) array whose first snapshot is the initial cloud and
// whose last equals the output file.
TEST(CliSample, TrajectorySnapshots) {
  const std::string dir = ::testing::TempDir();
  ASSERT_EQ(run("sample --target " FLOWSAMPLER_EXAMPLES "/targets/two_blobs.json --n 30 --steps 12 --precision double "
                "--out " + dir + "/tr_out.npy --trajectory " + dir + "/tr.npy --snapshots 4"),
            0);
  std::ifstream f(dir + "/tr.npy", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const std::size_t header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  const std::string header = bytes.substr(10, header_len);
  EXPECT_NE(header.find("'shape': (4, 30, 2)"), std::string::npos) << header;
  ASSERT_EQ(bytes.size(), 10 + header_len + 4 * 30 * 2 * sizeof(double));
  const auto out = fs::io::load_npy(dir + "/tr_out.npy");
  const char* last = bytes.data() + 10 + header_len + 3 * 30 * 2 * sizeof(double);
  EXPECT_EQ(std::string(last, 30 * 2 * sizeof(double)),
            std::string(reinterpret_cast<const char*>(out.data.data()), out.data.size()));
  EXPECT_EQ(run("sample --target " FLOWSAMPLER_EXAMPLES "/targets/two_blobs.json --steps 3 --out " + dir +
                "/x.npy --trajectory " + dir + "/t.npy --snapshots 9"),
            2);
}

// Without --init the cloud starts from the exact law of a(t0) X + b(t0) Y: for
// the two-blob mixture, components N(a m_k, a^2 S_k + b^2 I) with the same
// weights. Its moments in closed form against the first trajectory snapshot
// (the drawn cloud), within 4 standard errors: linear from t0 = 0.5 (a = b =
// 0.5) and ve (a = 1, b = sigma_max = 80), where a draw of b Y alone has mean
// 0 instead of the mixture's mean, 6 standard errors away at N = 400000 (ve
// runs one RK4 step to t = 0.05 only: the flow is not the point, and one step
// through the whole ve range blows up).
TEST(CliSample, InitialCloudIsTheExactNoisedLaw) {
  const std::string dir = ::testing::TempDir();
  struct Case {
    std::string args;
    double a, b;
    std::size_t n;
  };
  for (const Case& c : {Case{"--path linear --times 0.5,1", 0.5, 0.5, 100000}, Case{"--path ve --times 0,0.05", 1.0, 80.0, 400000}}) {
    ASSERT_EQ(run("sample --target " FLOWSAMPLER_EXAMPLES "/targets/two_blobs.json " + c.args + " --n " + std::to_string(c.n) +
                  " --seed 5 --precision double --out " + dir + "/init_out.npy --trajectory " + dir + "/init_tr.npy --snapshots 2"),
              0)
        << c.args;
    std::ifstream f(dir + "/init_tr.npy", std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const std::size_t header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    ASSERT_GE(bytes.size(), 10 + header_len + c.n * 2 * sizeof(double));
    const double* z = reinterpret_cast<const double*>(bytes.data() + 10 + header_len);  // snapshot 0, row-major (N, 2)
    double m[2] = {0, 0}, C[3] = {0, 0, 0};
    for (std::size_t i = 0; i < c.n; ++i) m[0] += z[2 * i] / double(c.n), m[1] += z[2 * i + 1] / double(c.n);
    for (std::size_t i = 0; i < c.n; ++i) {
      const double dx = z[2 * i] - m[0], dy = z[2 * i + 1] - m[1];
      C[0] += dx * dx / double(c.n), C[1] += dx * dy / double(c.n), C[2] += dy * dy / double(c.n);
    }
    // Mixture moments: weights 0.3, 0.7; means (-2, 0), (2, 1); covariances 0.25 I and [[1, .3], [.3, .5]].
    const double a = c.a, b2 = c.b * c.b;
    const double ex = a * (0.3 * -2 + 0.7 * 2), ey = a * 0.7;
    const double exx = 0.3 * (a * a * (0.25 + 4) + b2) + 0.7 * (a * a * (1 + 4) + b2) - ex * ex;
    const double exy = 0.7 * a * a * (0.3 + 2) - ex * ey;
    const double eyy = 0.3 * (a * a * 0.25 + b2) + 0.7 * (a * a * (0.5 + 1) + b2) - ey * ey;
    const double n = double(c.n);
    EXPECT_NEAR(m[0], ex, 4 * std::sqrt(exx / n)) << c.args;
    EXPECT_NEAR(m[1], ey, 4 * std::sqrt(eyy / n)) << c.args;
    // Var of a sample variance ~ 2 s^4 / n for near-Gaussian clouds; 3x that for the mixture's heavier tails.
    EXPECT_NEAR(C[0], exx, 4 * exx * std::sqrt(6 / n)) << c.args;
    EXPECT_NEAR(C[1], exy, 4 * std::sqrt(3 * (exx * eyy + exy * exy) / n)) << c.args;
    EXPECT_NEAR(C[2], eyy, 4 * eyy * std::sqrt(6 / n)) << c.args;
  }
}

// --times: an explicit grid equal to the uniform one gives the same bits; a
// non-monotone list exits 2.
TEST(CliSample, ExplicitTimeList) {
  const std::string dir = ::testing::TempDir();
  const std::string t = FLOWSAMPLER_EXAMPLES "/targets/two_blobs.json";
  ASSERT_EQ(run("sample --target " + t + " --times 0,0.25,0.5,0.75,1 --n 50 --precision double --out " + dir + "/a.npy"), 0);
  ASSERT_EQ(run("sample --target " + t + " --steps 4 --n 50 --precision double --out " + dir + "/b.npy"), 0);
  EXPECT_EQ(fs::io::load_npy(dir + "/a.npy").data, fs::io::load_npy(dir + "/b.npy").data);
  EXPECT_EQ(run("sample --target " + t + " --times 0,0.5,0.4 --out " + dir + "/c.npy"), 2);
  EXPECT_EQ(run("sample --target " + t + " --times 0,0.5 --steps 3 --out " + dir + "/c.npy"), 2);
}

// dopri5 from the CLI: the report counts accepted and rejected steps, and the
// samples have the mixture's mean; --init and --noise-cov are checked.
TEST(CliSample, AdaptiveInitAndNoiseCovariance) {
  const std::string t = FLOWSAMPLER_EXAMPLES "/targets/two_blobs.json";
  const std::string dir = ::testing::TempDir();
  ASSERT_EQ(run("sample --target " + t + " --integrator dopri5 --rtol 1e-6 --atol 1e-6 --n 20000 --precision double --out " +
                dir + "/d.npy --report " + dir + "/d.json"),
            0);
  std::ifstream r(dir + "/d.json");
  const std::string text((std::istreambuf_iterator<char>(r)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"rejected_steps\""), std::string::npos) << text;
  const auto m = fs::io::load_npy(dir + "/d.npy");
  double mx = 0;
  for (std::size_t i = 0; i < m.n; ++i) mx += m.value(i, 0) / double(m.n);
  EXPECT_NEAR(mx, 0.3 * -2 + 0.7 * 2, 0.05);
  // The same initial particles through --init give the same samples.
  const auto noise = fs::io::load_npy(dir + "/d.npy");
  ASSERT_EQ(run("sample --target " + t + " --init " + dir + "/d.npy --steps 10 --precision double --out " + dir +
                "/e.npy"),
            0);
  EXPECT_EQ(fs::io::load_npy(dir + "/e.npy").n, noise.n);
  // A noise covariance: a number, a diagonal, a matrix; bad ones exit 2.
  for (const std::string cov : {"2.0", "[1, 0.5]", "[[1, 0.2], [0.2, 0.5]]"})
    EXPECT_EQ(run("sample --target " + t + " --n 1000 --noise-cov '" + cov + "' --out " + dir + "/f.npy"), 0) << cov;
  for (const std::string cov : {"-1", "[1, 2, 3]", "[[1, 2], [3, 4]]", "oops", "[[1, 0], [0]]"})
    EXPECT_EQ(run("sample --target " + t + " --n 1000 --noise-cov '" + cov + "' --out " + dir + "/f.npy"), 2) << cov;
  // --init with the wrong dimension or a NaN; t = 1 with an empirical target.
  const std::vector<double> three = {0, 1, 2, 3, 4, 5};
  fs::io::write_npy(dir + "/three.npy", three.data(), 2, 3);
  EXPECT_EQ(run("sample --target " + t + " --init " + dir + "/three.npy --out " + dir + "/g.npy"), 2);
  const std::vector<double> with_nan = {0, 1, NAN, 3};
  fs::io::write_npy(dir + "/nan.npy", with_nan.data(), 2, 2);
  EXPECT_EQ(run("sample --target " + t + " --init " + dir + "/nan.npy --out " + dir + "/g.npy"), 2);
  std::ofstream(dir + "/emp.json") << "{\"type\": \"empirical\", \"points\": \"" << dir << "/three.npy\"}";
  EXPECT_EQ(run("sample --target " + dir + "/emp.json --n 10 --out " + dir + "/g.npy"), 2);
  EXPECT_EQ(run("sample --target " + dir + "/emp.json --n 10 --early-stop 0.01 --out " + dir + "/g.npy"), 0);
  EXPECT_EQ(run("sample --target " + t + " --integrator sde --langevin-steps 2 --path vp --steps 20 --n 100 --out " + dir +
                "/h.npy"),
            0);
  EXPECT_EQ(run("sample --target " + t + " --langevin-steps 2 --n 100 --out " + dir + "/h.npy"), 2);
}

// Issue 16's acceptance run: the emulator's samples equal the CPU's, and the
// report's device object shows the whole run moving at most twice the cloud
// (here: only the final download; the draws happen on the device) and taking
// no memory inside the step loop (the same allocations for 10 and 100 steps).
TEST(CliSample, EmulatorRunMatchesTheCpuWithinItsTransferBudget) {
  const std::string dir = ::testing::TempDir();
  const std::string common = "sample --target " FLOWSAMPLER_EXAMPLES "/targets/ring8.json --n 65536 --integrator heun "
                             "--quality-subsample 0 --seed 3";
  ASSERT_EQ(run(common + " --steps 100 --backend cpu --out " + dir + "/heun_cpu.npy"), 0);
  ASSERT_EQ(run(common + " --steps 100 --backend emulator --out " + dir + "/heun_emu.npy --report " + dir + "/emu100.json"), 0);
  ASSERT_EQ(run(common + " --steps 10 --backend emulator --out " + dir + "/heun_emu10.npy --report " + dir + "/emu10.json"), 0);
  const auto a = fs::io::load_npy(dir + "/heun_cpu.npy"), b = fs::io::load_npy(dir + "/heun_emu.npy");
  ASSERT_EQ(a.n, b.n);
  double worst = 0;
  for (std::size_t i = 0; i < a.n; ++i)
    for (std::size_t k = 0; k < a.d; ++k) worst = std::max(worst, std::fabs(a.value(i, k) - b.value(i, k)));
  EXPECT_LE(worst, 1e-5);
  auto device = [](const std::string& path) {
    std::ifstream f(path);
    return nlohmann::json::parse(f).at("device");
  };
  const auto d100 = device(dir + "/emu100.json"), d10 = device(dir + "/emu10.json");
  const std::uint64_t cloud = 65536 * 2 * sizeof(float);
  EXPECT_LE(d100.at("transfer_bytes").get<std::uint64_t>(), 2 * cloud) << d100.dump();
  EXPECT_EQ(d100.at("allocations"), d10.at("allocations")) << d100.dump() << d10.dump();
  EXPECT_LE(d100.at("synchronizations").get<std::uint64_t>(), 2u) << d100.dump();
}
