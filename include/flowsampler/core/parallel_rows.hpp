#pragma once
/// \file Runs a loop over rows on a context's host threads, for header-only
/// code that must not carry OpenMP pragmas into its users' builds (a user
/// who compiles without -fopenmp would silently get one thread; one who
/// compiles with another OpenMP runtime would get two).
#include <cstddef>
#include <functional>

#include "flowsampler/core/context.hpp"

namespace flowsampler::detail {

/// Calls body(begin, end) on contiguous blocks covering [0, n), one block per
/// host thread of ctx (one block below `serial_below` rows, where a thread
/// team costs more than it saves). The first exception a block throws is
/// rethrown here once every block has returned; blocks that had not started
/// are then skipped. One call per block, so the per-row work in `body`
/// inlines in the caller's translation unit.
void parallel_rows(const Context& ctx, std::size_t n, std::size_t serial_below,
                   const std::function<void(std::size_t begin, std::size_t end)>& body);

}  // namespace flowsampler::detail
