#include "flowsampler/core/parallel_rows.hpp"

#include <algorithm>

#include "core/first_exception.hpp"

namespace flowsampler::detail {

void parallel_rows(const Context& ctx, std::size_t n, std::size_t serial_below,
                   const std::function<void(std::size_t, std::size_t)>& body) {
  if (n == 0) return;
  const int threads = n < serial_below ? 1 : std::max(1, ctx.threads());
  if (threads == 1) return body(0, n);
  const std::size_t per = (n + std::size_t(threads) - 1) / std::size_t(threads);
  FirstException failure;
#if defined(_OPENMP)
#pragma omp parallel for num_threads(threads) schedule(static, 1)
#endif
  for (int b = 0; b < threads; ++b) {
    const std::size_t begin = std::min(n, std::size_t(b) * per), end = std::min(n, begin + per);
    if (begin < end) failure.run([&] { body(begin, end); });
  }
  failure.rethrow();
}

}  // namespace flowsampler::detail
