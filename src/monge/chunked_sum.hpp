#pragma once
// Deterministic parallel sums of per-point parameter gradients: points are
// cut into fixed chunks (independent of the thread count), each chunk sums
// into its own buffer, and the buffers are added in chunk order. The result
// is then bit-identical whatever the number of OpenMP threads.
#include <cstddef>
#include <vector>

namespace flowsampler::monge::detail {

constexpr std::size_t kChunk = 256;
/// Below this many points the potentials run on one thread: a batch of a few
/// hundred points costs microseconds, less than waking a thread team (and far
/// less than a team on a loaded machine).
constexpr std::size_t kParallelPoints = 1024;

/// body(i0, i1, acc): adds the contributions of points [i0, i1) into acc (P values).
template <class Body>
std::vector<double> chunked_sum(std::size_t n, std::size_t P, Body&& body) {
  const std::size_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> part(chunks * P, 0.0);
#pragma omp parallel for schedule(dynamic, 1) if (n >= kParallelPoints)
  for (std::ptrdiff_t c = 0; c < std::ptrdiff_t(chunks); ++c) {
    const std::size_t i0 = std::size_t(c) * kChunk, i1 = i0 + kChunk < n ? i0 + kChunk : n;
    body(i0, i1, part.data() + std::size_t(c) * P);
  }
  std::vector<double> out(P, 0.0);
  for (std::size_t c = 0; c < chunks; ++c)
    for (std::size_t p = 0; p < P; ++p) out[p] += part[c * P + p];
  return out;
}

}  // namespace flowsampler::monge::detail
