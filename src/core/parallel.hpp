#pragma once
// When host loops are worth an OpenMP team, and how host reductions chunk:
// the named thresholds every CPU loop of the library uses.
#include <cstddef>

namespace flowsampler::detail {

/// Elementwise loops over fewer elements run on one thread: below this a
/// team's fork and barrier cost more than the loop (and, on a loaded machine,
/// its spinning much more).
constexpr long long parallel_min_elements = 65536;

/// Host reductions fold fixed chunks of this many indices in order, then the
/// chunks in order: the result is the same for every thread count.
constexpr std::size_t reduce_chunk = 4096;

}  // namespace flowsampler::detail
