#pragma once
// The readers that take user files, each as one fuzz entry point: an input
// must be read into a consistent object or raise flowsampler::Error; a crash,
// a hang, an over-allocation or any other exception is a bug. The libFuzzer
// binaries (fuzz_main.cpp) and the corpus replay test (test_corpus_replay.cpp)
// call the same functions.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "flowsampler/core/context.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/io/npy.hpp"
#include "flowsampler/jko/model.hpp"
#include "flowsampler/monge/map_io.hpp"
#include "flowsampler/targets/spec.hpp"

#ifdef FLOWSAMPLER_FUZZ_CLI  // the command line's parser lives in tools/ (flowsampler_commands)
#include "command_line.hpp"
#endif

namespace flowsampler::fuzz {

using Input = std::string;

/// The .npy parser (in memory).
inline void npy(const Input& in) {
  const auto m = io::parse_npy(reinterpret_cast<const unsigned char*>(in.data()), in.size(), "fuzz.npy");
  if (m.data.size() != m.n * m.d * (m.float64 ? 8 : 4)) std::abort();
  if (m.n && m.d) (void)m.value(m.n - 1, m.d - 1);
}

/// A target spec; "points" resolve against `dir` (a scratch directory).
inline void target_spec(const Input& in, const std::string& dir) {
  const targets::GaussianMixture g = targets::parse_target(in, "fuzz.json", dir);
  if (g.dim() == 0) std::abort();
}

/// A noise covariance (--noise-cov) in d = 1, 2 and 3; Error when no d takes it.
inline void noise_spec(const Input& in) {
  std::string refused;
  for (std::size_t d = 1; d <= 3; ++d) {
    try {
      (void)targets::parse_noise(in, d, "fuzz noise");
      return;
    } catch (const Error& e) {
      refused = e.what();
    }
  }
  throw Error(refused);
}

namespace detail {
inline void write_bytes(const std::string& path, const Input& in) {
  std::ofstream(path, std::ios::binary).write(in.data(), static_cast<std::streamsize>(in.size()));
}
}  // namespace detail

/// A Monge map manifest, beside a valid params.npy of 11 values (an icnn of
/// d = 2, widths [2], skip); `dir` is a scratch directory.
inline void map_manifest(const Input& in, const std::string& dir) {
  std::filesystem::create_directories(dir);
  detail::write_bytes(dir + "/manifest.json", in);
  const std::vector<double> theta(11, 0.25);
  io::write_npy_array<double>(dir + "/params.npy", theta.data(), {theta.size()});
  const auto p = monge::load_map(dir);
  if (p->num_params() != theta.size()) std::abort();
}

/// A JKO model manifest, beside two valid clouds X_000.npy and X_001.npy
/// (4 x 2); `dir` is a scratch directory.
inline void model_manifest(const Input& in, const std::string& dir) {
  std::filesystem::create_directories(dir);
  detail::write_bytes(dir + "/manifest.json", in);
  const std::vector<double> x{0, 1, 1, 0, -1, 0, 0, -1};
  io::write_npy(dir + "/X_000.npy", x.data(), 4, 2);
  io::write_npy(dir + "/X_001.npy", x.data(), 4, 2);
  const Context ctx = Context::create(Backend::cpu);
  const auto m = jko::JkoModel<double>::load(ctx, dir);
  if (m.dim() == 0) std::abort();
}

#ifdef FLOWSAMPLER_FUZZ_CLI
/// The command line: each line of the input is one argument after the
/// program's name. A parse chooses one command or fails with CLI11's
/// ParseError (help requests included), rethrown as Error; nothing runs.
inline void cli_args(const Input& in) {
  std::vector<std::string> args{"flowsampler"};
  std::size_t start = 0;
  while (start <= in.size()) {
    const std::size_t end = std::min(in.find('\n', start), in.size());
    args.push_back(in.substr(start, end - start));
    start = end + 1;
  }
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  cli::CommandLine line;
  try {
    line.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    throw Error(std::string("command line: ") + e.what());
  }
  (void)line.chosen();
}
#endif

/// Runs the named entry point ("npy", "target_spec", "noise_spec",
/// "map_manifest", "model_manifest", "cli_args"); `dir` is a scratch directory.
inline void run(const std::string& target, const Input& in, const std::string& dir) {
  if (target == "npy") return npy(in);
  if (target == "target_spec") return target_spec(in, dir);
  if (target == "noise_spec") return noise_spec(in);
  if (target == "map_manifest") return map_manifest(in, dir);
  if (target == "model_manifest") return model_manifest(in, dir);
#ifdef FLOWSAMPLER_FUZZ_CLI
  if (target == "cli_args") return cli_args(in);
#endif
  std::abort();
}

}  // namespace flowsampler::fuzz
