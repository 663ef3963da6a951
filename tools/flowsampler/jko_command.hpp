#pragma once
// `flowsampler jko`: the particle JKO scheme from a data cloud towards a
// target (N(0, I) or a spec), optionally keeping a JKO flow model; and
// `flowsampler jko-sample`: generation from a saved model.
#include "jko_options.hpp"
#include <cstdint>
#include <string>

namespace flowsampler::cli {

struct JkoSampleOptions {
  std::string model, out, precision = "double";
  std::size_t n = 1000;
  std::uint64_t seed = 0;
};

int run_jko(const JkoOptions& options, const std::string& backend);
int run_jko_sample(const JkoSampleOptions& options, const std::string& backend);

}  // namespace flowsampler::cli
