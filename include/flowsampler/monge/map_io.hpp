#pragma once
/// \file A learned map on disk: MAP_DIR/manifest.json (format, version,
/// potential type, dim, widths, skip, pieces, s, init, number of parameters)
/// and MAP_DIR/params.npy (theta, shape (P,), float64).
#include <memory>
#include <string>

#include "flowsampler/monge/potential.hpp"

namespace flowsampler::monge {

/// Creates `dir` if missing and writes both files (overwriting them).
/// `extra_json` (a JSON object text, may be empty) is stored under "info".
void save_map(const std::string& dir, const ConvexPotential& potential, const std::string& extra_json = "");

/// Rebuilds the potential. Error naming the file and the entry when the
/// directory or a file is missing, the manifest is malformed or of another
/// format/version, or params.npy does not hold exactly the manifest's parameters.
std::unique_ptr<ConvexPotential> load_map(const std::string& dir);

}  // namespace flowsampler::monge
