// Checked reads, atomic writes and checked size arithmetic (io/files.hpp,
// core/sizes.hpp): the library side of issue 19's no-lost-file contract.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>

#include "flowsampler/core/error.hpp"
#include "flowsampler/core/sizes.hpp"
#include "flowsampler/io/files.hpp"
#include "flowsampler/io/npy.hpp"

namespace fs = flowsampler;

namespace {

std::string scratch(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/files_" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST(Files, InputsMustBeRegularFiles) {
  const std::string dir = scratch("inputs"), fifo = dir + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THROW(fs::io::read_file(fifo, "x"), fs::Error);  // refused, not opened: no hang
  EXPECT_THROW(fs::io::read_file("/dev/zero", "x"), fs::Error);
  EXPECT_THROW(fs::io::read_file(dir, "x"), fs::Error);
  EXPECT_THROW(fs::io::read_file(dir + "/missing", "x"), fs::Error);
  EXPECT_THROW(fs::io::load_npy(fifo), fs::Error);
  std::ofstream(dir + "/a.txt") << "abc";
  EXPECT_EQ(fs::io::read_file(dir + "/a.txt", "x"), "abc");
}

TEST(Files, WritesAreAtomicAndChecked) {
  const std::string dir = scratch("writes"), path = dir + "/out.txt";
  fs::io::write_file(path, [](std::ostream& f) { f << "old"; });
  EXPECT_EQ(slurp(path), "old");
  // A failing writer leaves the old file and no temporary behind.
  EXPECT_THROW(fs::io::write_file(path, [](std::ostream& f) {
                 f << "partial";
                 throw fs::RuntimeError("disk gone");
               }),
               fs::RuntimeError);
  EXPECT_EQ(slurp(path), "old");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 1);
  // The final flush fails on /dev/full: that is an error, not success.
  EXPECT_THROW(fs::io::write_file("/dev/full", [](std::ostream& f) { f << "x"; }), fs::RuntimeError);
  const double v[2] = {1, 2};
  EXPECT_THROW(fs::io::write_npy("/dev/full", v, 1, 2), fs::RuntimeError);
  EXPECT_NO_THROW(fs::io::write_npy("/dev/null", v, 1, 2));
  EXPECT_THROW(fs::io::write_file(dir, [](std::ostream& f) { f << "x"; }), fs::Error);  // a directory
  EXPECT_THROW(fs::io::write_file(dir + "/missing/x", [](std::ostream& f) { f << "x"; }), fs::RuntimeError);
}

TEST(Sizes, ProductsAndSumsAreChecked) {
  constexpr std::size_t big = std::numeric_limits<std::size_t>::max();
  EXPECT_EQ(fs::checked_mul(3, 4, "x"), 12u);
  EXPECT_EQ(fs::checked_mul(0, big, "x"), 0u);
  EXPECT_THROW(fs::checked_mul(std::size_t(1) << 32, std::size_t(1) << 32, "x"), fs::Error);
  EXPECT_THROW(fs::checked_add(big, 1, "x"), fs::Error);
  EXPECT_GT(fs::physical_memory_bytes(), 0u);
  EXPECT_NO_THROW(fs::expect_fits_in_memory(1 << 20, "x"));
  EXPECT_THROW(fs::expect_fits_in_memory(big, "x"), fs::Error);
}
