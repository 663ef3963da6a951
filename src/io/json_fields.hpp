#pragma once
// Typed reads of manifest entries: nlohmann's get<std::size_t>() wraps a
// negative number and get<int>() of 1e300 is undefined, so counts are read
// as JSON integers and range-checked here, the entry and file named.
#include <cstddef>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "flowsampler/core/error.hpp"

namespace flowsampler::io {

/// j as a count in [min, max]; Error naming `where` otherwise.
inline std::size_t json_count(const nlohmann::json& j, const std::string& where, std::size_t min = 0,
                              std::size_t max = std::numeric_limits<std::size_t>::max()) {
  const bool integer = j.is_number_integer();
  const bool negative = integer && !j.is_number_unsigned() && j.get<long long>() < 0;
  const std::size_t v = integer && !negative ? j.get<std::size_t>() : 0;
  FLOWSAMPLER_EXPECTS(integer && !negative && v >= min && v <= max,
                      where << ": expected an integer in [" << min << ", " << max << "], got " << j.dump());
  return v;
}

/// j as an int (a version number, say); Error naming `where` otherwise.
inline int json_int(const nlohmann::json& j, const std::string& where) {
  const bool ok = j.is_number_integer() && (j.is_number_unsigned() ? j.get<std::size_t>() <= std::size_t(std::numeric_limits<int>::max())
                                                                    : j.get<long long>() >= std::numeric_limits<int>::min() &&
                                                                          j.get<long long>() <= std::numeric_limits<int>::max());
  FLOWSAMPLER_EXPECTS(ok, where << ": expected an integer, got " << j.dump());
  return j.get<int>();
}

}  // namespace flowsampler::io
