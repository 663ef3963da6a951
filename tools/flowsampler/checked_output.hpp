#pragma once
// Writing a command's results: every array is checked for NaN/Inf before it
// is written (a non-finite result fails with the stage and its likely cause
// named, exit 2, instead of a file our own reader refuses), and every file
// goes through io::write_file (temporary file, checked, renamed).
#include <cmath>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "flowsampler/core/error.hpp"
#include "flowsampler/core/particle_set.hpp"
#include "flowsampler/io/files.hpp"
#include "flowsampler/io/npy.hpp"

namespace flowsampler::cli {

/// Error unless the n x d row-major values are all finite: "WHAT: nan at
/// row i, column k (nothing written); likely cause: CAUSE".
template <class Real>
void expect_finite(const Real* rows, std::size_t n, std::size_t d, const std::string& what, const std::string& cause) {
  for (std::size_t e = 0; e < n * d; ++e)
    FLOWSAMPLER_EXPECTS(std::isfinite(rows[e]), what << ": " << rows[e] << " at row " << e / d << ", column " << e % d
                                                     << " (nothing written); likely cause: " << cause);
}

/// Writes an n x d host array as .npy at `path` after expect_finite.
template <class Real>
void write_rows(const std::string& path, const std::vector<Real>& rows, std::size_t n, std::size_t d, const std::string& what,
                const std::string& cause) {
  expect_finite(rows.data(), n, d, what, cause);
  io::write_npy(path, rows.data(), n, d);
}

/// Writes a particle set as .npy at `path` after expect_finite.
template <class Real>
void write_cloud(const std::string& path, const ParticleSet<Real>& x, const std::string& what, const std::string& cause) {
  write_rows(path, x.to_row_major(), x.n(), x.d(), what, cause);
}

/// Writes a JSON document (a report) at `path`, checked.
inline void write_json(const std::string& path, const nlohmann::json& j) {
  const std::string text = j.dump(2) + "\n";
  io::write_file(path, [&](std::ostream& f) { f << text; });
}

}  // namespace flowsampler::cli
