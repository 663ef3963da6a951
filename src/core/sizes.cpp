// Checked size arithmetic and the up-front memory check (flowsampler/core/sizes.hpp).
#include "flowsampler/core/sizes.hpp"

#include <unistd.h>

#include <limits>

#include "flowsampler/core/error.hpp"

namespace flowsampler {

std::size_t checked_mul(std::size_t a, std::size_t b, const std::string& what) {
  FLOWSAMPLER_EXPECTS(a == 0 || b <= std::numeric_limits<std::size_t>::max() / a,
                      what << ": " << a << " x " << b << " overflows the size arithmetic");
  return a * b;
}

std::size_t checked_add(std::size_t a, std::size_t b, const std::string& what) {
  FLOWSAMPLER_EXPECTS(b <= std::numeric_limits<std::size_t>::max() - a,
                      what << ": " << a << " + " << b << " overflows the size arithmetic");
  return a + b;
}

std::size_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return 0;
  const auto p = static_cast<std::size_t>(pages), s = static_cast<std::size_t>(page);
  return p > std::numeric_limits<std::size_t>::max() / s ? std::numeric_limits<std::size_t>::max() : p * s;
}

void expect_fits_in_memory(std::size_t bytes, const std::string& what) {
  const std::size_t have = physical_memory_bytes();
  constexpr double gib = 1024.0 * 1024.0 * 1024.0;
  FLOWSAMPLER_EXPECTS(have == 0 || bytes <= have, what << ": needs about " << double(bytes) / gib << " GiB of buffers, more than the "
                                                       << double(have) / gib << " GiB of memory of this machine");
}

}  // namespace flowsampler
