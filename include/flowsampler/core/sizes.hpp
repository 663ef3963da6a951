#pragma once
/// \file Size arithmetic on counts that come from files or options: every
/// product and sum is checked for overflow, and a buffer that cannot fit in
/// the machine's memory is refused before it is allocated.
#include <cstddef>
#include <string>

namespace flowsampler {

/// a * b; Error naming `what` when the product overflows std::size_t.
std::size_t checked_mul(std::size_t a, std::size_t b, const std::string& what);
/// a + b; Error naming `what` when the sum overflows std::size_t.
std::size_t checked_add(std::size_t a, std::size_t b, const std::string& what);

/// The machine's physical memory in bytes (0 when unknown).
std::size_t physical_memory_bytes();

/// Error naming `what` and the estimate when `bytes` exceed the machine's
/// physical memory (nothing is checked when that is unknown).
void expect_fits_in_memory(std::size_t bytes, const std::string& what);

}  // namespace flowsampler
