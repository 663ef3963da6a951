#pragma once
/// \file One name table per enum: parsing, printing, the CLI's choices and
/// the error message for an unknown name all read the same list, so a new
/// value is named in one place.
#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "flowsampler/core/error.hpp"

namespace flowsampler {

template <class E>
struct EnumName {
  E value;
  const char* name;
};

template <class E, std::size_t N>
using NameTable = std::array<EnumName<E>, N>;

/// The names in table order.
template <class E, std::size_t N>
std::vector<std::string> names(const NameTable<E, N>& table) {
  std::vector<std::string> out;
  for (const auto& e : table) out.push_back(e.name);
  return out;
}

/// "a, b or c", for messages and help texts.
template <class E, std::size_t N>
std::string name_list(const NameTable<E, N>& table) {
  std::string out;
  for (std::size_t i = 0; i < N; ++i) out += (i == 0 ? "" : i + 1 == N ? " or " : ", ") + std::string(table[i].name);
  return out;
}

/// The value named `text`; Error "<what>: expected a, b or c, got 'text'" otherwise.
template <class E, std::size_t N>
E parse_name(const NameTable<E, N>& table, const std::string& text, const std::string& what) {
  for (const auto& e : table)
    if (text == e.name) return e.value;
  FLOWSAMPLER_EXPECTS(false, what << ": expected " << name_list(table) << ", got '" << text << "'");
  return table[0].value;  // not reached
}

/// The name of `value` ("?" for a value outside the table, e.g. a cast integer).
template <class E, std::size_t N>
std::string name_of(const NameTable<E, N>& table, E value) {
  for (const auto& e : table)
    if (e.value == value) return e.name;
  return "?";
}

}  // namespace flowsampler
