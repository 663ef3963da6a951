#pragma once
// `flowsampler reproduce NAME [--quick] [--seed S] [--backend B] --out DIR`:
// one command per numerical claim of the seed papers (reproduce/*.cpp).
#include <string>
#include <vector>

#include "reproduce/common.hpp"

namespace flowsampler::cli {

struct Reproduction {
  std::string name, description;
  int (*run)(const reproduce::Options&);
};

/// Every reproduction: km-stability, follmer-complexity, fm-gaussian-map,
/// closures, jko-convergence, monge.
const std::vector<Reproduction>& reproductions();

struct ReproduceOptions {
  std::string name;
  reproduce::Options options;
  std::vector<std::string> perturb;  ///< --perturb NAME=F, parsed by run_reproduce
};

/// Runs the named reproduction; returns its exit code (0: every check held, 1: one failed).
int run_reproduce(const ReproduceOptions& o, const std::string& backend);

}  // namespace flowsampler::cli
