#pragma once
// Small input files for the hostile-input CLI tests: a scratch directory per
// test, a Gaussian target spec, a cloud, and a FIFO.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "flowsampler/io/npy.hpp"

namespace flowsampler::test {

/// A fresh, empty scratch directory named after the running test.
inline std::string scratch_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string dir = ::testing::TempDir() + "/hostile_" + info->test_suite_name() + "_" + info->name();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

inline std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

/// N(0, v I) in d = 2 as a spec file; returns its path.
inline std::string gaussian_spec(const std::string& dir, const std::string& mean = "[0, 0]", const std::string& var = "1") {
  const std::string path = dir + "/g.json";
  write_text(path, R"({"type": "gaussian_mixture", "dim": 2, "weights": [1], "means": [)" + mean + R"(], "covariances": [)" +
                       var + "]}");
  return path;
}

/// n standard normal points in d = 2 as .npy; returns its path.
inline std::string cloud(const std::string& dir, const std::string& name = "x.npy", std::size_t n = 50) {
  std::mt19937 rng(5);
  std::normal_distribution<double> n01;
  std::vector<double> x(2 * n);
  for (auto& v : x) v = n01(rng);
  const std::string path = dir + "/" + name;
  flowsampler::io::write_npy(path, x.data(), n, 2);
  return path;
}

inline std::string fifo(const std::string& dir, const std::string& name = "fifo") {
  const std::string path = dir + "/" + name;
  EXPECT_EQ(::mkfifo(path.c_str(), 0600), 0);
  return path;
}

}  // namespace flowsampler::test
