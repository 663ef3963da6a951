#pragma once
/// \file Reading and writing particle sets as NumPy .npy files.
///
/// Files hold one array of shape (N, d) (or (N,), read as d = 1), dtype
/// float32 or float64, little-endian, C or Fortran order; format versions
/// 1.0, 2.0 and 3.0. Anything else, and any malformed or truncated file,
/// raises flowsampler::Error naming the file and the problem.
#include <cstddef>
#include <string>
#include <vector>

#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"

namespace flowsampler::io {

/// A parsed .npy matrix, data still in the file's byte order of elements.
struct NpyMatrix {
  std::size_t n = 0, d = 0;
  bool float64 = false;        ///< '<f8' (else '<f4')
  bool fortran_order = false;  ///< data column-major (else row-major)
  std::vector<unsigned char> data;  ///< n * d * (4 or 8) bytes

  /// Element (i, k) converted to double.
  double value(std::size_t i, std::size_t k) const;
};

/// Parses a whole .npy file held in memory; `name` is used in error messages.
NpyMatrix parse_npy(const unsigned char* bytes, std::size_t size, const std::string& name);
/// Reads and parses the file at `path`.
NpyMatrix load_npy(const std::string& path);

/// Reads an (N, d) .npy into a particle set on `ctx`'s backend, converting the
/// dtype to Real. Non-finite values (and float64 values beyond float range
/// when Real is float) are rejected, naming the first offending row, unless
/// `allow_nonfinite` is set.
template <class Real>
ParticleSet<Real> read_particles(const Context& ctx, const std::string& path, bool allow_nonfinite = false);

/// Writes the set as an (N, d) C-order .npy of Real's dtype (format 1.0).
template <class Real>
void write_particles(const std::string& path, const ParticleSet<Real>& x);

/// Writes a C-order host array of any shape (e.g. a trajectory (J, N, d)).
template <class Real>
void write_npy_array(const std::string& path, const Real* data, const std::vector<std::size_t>& shape);

/// Writes a row-major host array of n x d values.
template <class Real>
void write_npy(const std::string& path, const Real* rows, std::size_t n, std::size_t d);

}  // namespace flowsampler::io
