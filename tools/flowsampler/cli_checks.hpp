#pragma once
// Option checks with short messages (CLI11's PositiveNumber prints the whole
// range of double, a 300-digit line).
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "flowsampler/core/error.hpp"
#include "flowsampler/io/files.hpp"

namespace flowsampler::cli {

inline const CLI::Validator positive_number(
    [](std::string& s) -> std::string {
      try {
        std::size_t used = 0;
        const double v = std::stod(s, &used);
        if (used == s.size() && std::isfinite(v) && v > 0) return {};
      } catch (const std::exception&) {
      }
      return "expected a number > 0, got " + s;
    },
    "NUMBER > 0", "positive_number");

/// An input file that must be a regular file: a directory, FIFO or device is
/// refused here, before anything opens it (a FIFO would block forever).
inline const CLI::Validator regular_file(
    [](std::string& s) -> std::string {
      try {
        flowsampler::io::expect_regular_file(s, "file");
      } catch (const flowsampler::Error& e) {
        const std::string what = e.what();
        return what.substr(what.find(": ") + 2);  // "PATH is a FIFO, ...": the option's name leads
      }
      return {};
    },
    "FILE", "regular_file");

/// A count or seed: a plain decimal integer in [min, max]. CLI11 reads
/// unsigned options with strtoull, which turns -1 into 2^64 - 1 and reads
/// 010 as octal; this check runs first on the text and rejects both.
inline CLI::Validator count(std::uint64_t min = 0, std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) {
  const std::string range = max == std::numeric_limits<std::uint64_t>::max()
                                ? "an integer >= " + std::to_string(min)
                                : "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  return CLI::Validator(
      [min, max, range](std::string& s) -> std::string {
        bool ok = !s.empty() && s.size() <= 20;
        std::uint64_t v = 0;
        for (std::size_t i = 0; ok && i < s.size(); ++i) {
          const unsigned digit = static_cast<unsigned>(s[i] - '0');
          ok = digit <= 9 && v <= (std::numeric_limits<std::uint64_t>::max() - digit) / 10;
          v = v * 10 + digit;
        }
        if (!ok || v < min || v > max)
          return "expected " + range + ", got " + s;
        s = std::to_string(v);  // no leading zeros: strtoull would read them as octal
        return {};
      },
      range.substr(3), "count");  // "integer >= 0" in --help
}

}  // namespace flowsampler::cli
