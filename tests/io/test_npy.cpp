#include <gtest/gtest.h>

#include "typed.hpp"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

#include "flowsampler/core/error.hpp"
#include "flowsampler/io/npy.hpp"

namespace fs = flowsampler;

namespace {
std::vector<unsigned char> bytes_of(const std::string& header, const void* data, std::size_t data_bytes,
                                    int major = 1) {
  std::vector<unsigned char> out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<unsigned char>(major), 0};
  const std::size_t len = header.size();
  out.push_back(len & 0xff);
  out.push_back((len >> 8) & 0xff);
  if (major > 1) out.push_back(0), out.push_back(0);
  out.insert(out.end(), header.begin(), header.end());
  const auto* p = static_cast<const unsigned char*>(data);
  out.insert(out.end(), p, p + data_bytes);
  return out;
}
fs::io::NpyMatrix parse(const std::vector<unsigned char>& b) { return fs::io::parse_npy(b.data(), b.size(), "t.npy"); }
std::string error_of(const std::vector<unsigned char>& b) {
  try {
    parse(b);
  } catch (const fs::Error& e) {
    return e.what();
  }
  return "";
}
std::string tmp(const std::string& name) { return ::testing::TempDir() + name; }
}  // namespace

// A file laid out by hand exactly as numpy.save writes np.arange(6.).reshape(3, 2).
TEST(Npy, ParsesHandWrittenNumpyLayout) {
  const double v[6] = {0, 1, 2, 3, 4, 5};
  std::string h = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }";
  h.append(118 - h.size() - 1, ' ');
  h += '\n';
  const auto m = parse(bytes_of(h, v, sizeof v));
  EXPECT_EQ(m.n, 3u);
  EXPECT_EQ(m.d, 2u);
  EXPECT_TRUE(m.float64);
  EXPECT_EQ(m.value(2, 1), 5.0);
  EXPECT_EQ(m.value(1, 0), 2.0);
}

TEST(Npy, FortranOrderOneDimensionalAndVersion2) {
  const float v[6] = {0, 1, 2, 3, 4, 5};  // column-major 3 x 2
  const auto m = parse(bytes_of("{'descr': '<f4', 'fortran_order': True, 'shape': (3, 2)}\n", v, sizeof v, 2));
  EXPECT_FALSE(m.float64);
  EXPECT_EQ(m.value(0, 1), 3.0);
  EXPECT_EQ(m.value(2, 0), 2.0);
  const auto one = parse(bytes_of("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }\n", v, sizeof v));
  EXPECT_EQ(one.n, 6u);
  EXPECT_EQ(one.d, 1u);
}

TEST(Npy, ClearErrorsForBadFiles) {
  const double v[6] = {};
  const std::string good = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }\n";
  EXPECT_NE(error_of(bytes_of(good, v, 40)).find("truncated data"), std::string::npos);
  EXPECT_EQ(error_of(bytes_of(good, v, 48)), "");
  EXPECT_NE(error_of(bytes_of("{'descr': '<i8', 'fortran_order': False, 'shape': (3, 2), }\n", v, 48)).find("dtype '<i8'"),
            std::string::npos);
  EXPECT_NE(error_of(bytes_of("{'descr': '>f8', 'fortran_order': False, 'shape': (3, 2), }\n", v, 48)).find("little-endian"),
            std::string::npos);
  EXPECT_NE(error_of(bytes_of("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3, 2), }\n", v, 48)).find("2-d"),
            std::string::npos);
  EXPECT_NE(error_of(bytes_of("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999, 2), }\n", v, 48))
                .find("overflows"),
            std::string::npos);
  EXPECT_NE(error_of(bytes_of("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4), }\n", v, 48))
                .find("overflows"),
            std::string::npos);
  EXPECT_NE(error_of(bytes_of("{'descr': '<f8', 'shape': (3, 2), }\n", v, 48)).find("lacks"), std::string::npos);
  EXPECT_NE(error_of({'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0}).find("not a .npy"), std::string::npos);
  auto extra = bytes_of(good, v, 48);
  extra.push_back(0);
  EXPECT_NE(error_of(extra).find("unexpected bytes"), std::string::npos);
  auto long_header = bytes_of(good, v, 48);
  long_header[8] = 0xff;  // announced header longer than the file
  EXPECT_NE(error_of(long_header).find("truncated .npy header"), std::string::npos);
}

// Property: every prefix and every single-byte corruption of a valid file either
// parses into a consistent matrix or raises flowsampler::Error — never a crash.
TEST(Npy, TruncationsAndCorruptionsNeverCrash) {
  std::vector<float> v(4 * 3);
  for (std::size_t e = 0; e < v.size(); ++e) v[e] = float(e);
  const auto good = bytes_of("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), }\n", v.data(), v.size() * 4);
  for (std::size_t len = 0; len < good.size(); ++len) {
    std::vector<unsigned char> prefix(good.begin(), good.begin() + static_cast<long>(len));
    EXPECT_THROW(parse(prefix), fs::Error) << "prefix of " << len << " bytes";
  }
  std::mt19937 rng(5);
  for (int trial = 0; trial < 20000; ++trial) {
    auto b = good;
    const int flips = 1 + trial % 3;
    for (int f = 0; f < flips; ++f) b[rng() % b.size()] = static_cast<unsigned char>(rng());
    try {
      const auto m = parse(b);
      ASSERT_EQ(m.data.size(), m.n * m.d * (m.float64 ? 8 : 4));
    } catch (const fs::Error&) {
    }
  }
}

template <class Real>
class NpyFileTest : public ::testing::Test {};
using flowsampler::test::Reals;
TYPED_TEST_SUITE(NpyFileTest, Reals);

TYPED_TEST(NpyFileTest, WriteReadRoundTripAcrossDtypes) {
  using Real = TypeParam;
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu);
  std::vector<Real> rows = {1.5, -2, 3.25, 1e-3, 7, 8};
  const auto x = fs::ParticleSet<Real>::from_row_major(ctx, rows.data(), 2, 3);
  const std::string path = tmp("roundtrip.npy");
  fs::io::write_particles(path, x);
  const auto m = fs::io::load_npy(path);
  EXPECT_EQ(m.float64, sizeof(Real) == 8);
  const auto back_f = fs::io::read_particles<float>(ctx, path);
  const auto back_d = fs::io::read_particles<double>(ctx, path);
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t k = 0; k < 3; ++k) {
      EXPECT_EQ(back_f.at(i, k), float(rows[i * 3 + k]));
      EXPECT_EQ(back_d.at(i, k), double(rows[i * 3 + k]));
    }
  std::remove(path.c_str());
}

TEST(NpyFile, RejectsNonFiniteUnlessAllowedAndMissingFiles) {
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu);
  const double rows[4] = {1, 2, NAN, 4};
  const std::string path = tmp("nan.npy");
  fs::io::write_npy(path, rows, 2, 2);
  try {
    fs::io::read_particles<double>(ctx, path);
    FAIL();
  } catch (const fs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("row 1, column 0"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(fs::io::read_particles<double>(ctx, path, true));
  const double big[2] = {1e300, 0};
  fs::io::write_npy(path, big, 1, 2);
  EXPECT_NO_THROW(fs::io::read_particles<double>(ctx, path));
  EXPECT_THROW(fs::io::read_particles<float>(ctx, path), fs::Error);
  std::remove(path.c_str());
  EXPECT_THROW(fs::io::load_npy(tmp("does-not-exist.npy")), fs::Error);
}
