#include <omp.h>

#include <algorithm>
#include <sstream>

#include "core/context_impl.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/core/version.hpp"

namespace flowsampler {

std::string to_string(Backend b) {
  switch (b) {
    case Backend::automatic: return "auto";
    case Backend::cpu: return "cpu";
    case Backend::cuda: return "cuda";
  }
  return "?";
}

Backend parse_backend(const std::string& text, const std::string& what) {
  if (text == "auto" || text == "automatic") return Backend::automatic;
  if (text == "cpu") return Backend::cpu;
  if (text == "cuda") return Backend::cuda;
  FLOWSAMPLER_EXPECTS(false, what << ": expected auto, cpu or cuda, got '" << text << "'");
}

int cuda_device_count() { return cuda::device_count(); }

Context::Context(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Context::Context(Context&&) noexcept = default;
Context& Context::operator=(Context&&) noexcept = default;
Context::~Context() = default;

Context Context::create(Backend backend, std::uint64_t seed, int threads) {
  auto impl = std::make_unique<Impl>();
  impl->seed = seed;
  const int devices = cuda::device_count();
  if (backend == Backend::cuda && devices == 0) {
    FLOWSAMPLER_EXPECTS(false, "backend: CUDA was requested but no CUDA device answers"
                                   << (built_with_cuda() ? " (no GPU or driver on this machine)"
                                                         : " (this build has no CUDA backend)")
                                   << "; use the cpu or auto backend");
  }
  impl->backend = (backend == Backend::cpu || devices == 0) ? Backend::cpu : Backend::cuda;
  Context ctx(std::move(impl));
  ctx.set_threads(threads);
  if (ctx.impl_->backend == Backend::cuda) {
    ctx.impl_->device = 0;
    ctx.impl_->cuda = cuda::create_handles(0, seed);
  }
  return ctx;
}

Backend Context::backend() const { return impl_->backend; }
int Context::threads() const { return impl_->threads; }
void Context::set_threads(int threads) {
  impl_->threads = threads > 0 ? threads : std::max(1, omp_get_max_threads());
}
std::uint64_t Context::seed() const { return impl_->seed; }
void Context::set_seed(std::uint64_t seed) {
  impl_->seed = seed;
  impl_->draw = 0;
}
std::uint32_t Context::next_draw() { return impl_->draw++; }

void Context::synchronize() const {
  if (impl_->cuda) cuda::synchronize(impl_->cuda);
}

std::string Context::describe() const {
  std::ostringstream os;
  os << "flowsampler " << version() << ", backend " << to_string(impl_->backend);
  if (impl_->backend == Backend::cuda)
    os << ": device " << impl_->device << " (" << cuda::describe_device(impl_->device) << ")";
  else
    os << ": " << impl_->threads << " OpenMP thread" << (impl_->threads == 1 ? "" : "s")
       << (!built_with_cuda()            ? " (built without CUDA)"
           : cuda::device_count() == 0 ? " (CUDA compiled in, no device answers)"
                                       : " (CUDA device present, CPU chosen)");
  return os.str();
}

std::string version() { return FLOWSAMPLER_VERSION_STRING; }
bool built_with_cuda() {
#ifdef FLOWSAMPLER_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

}  // namespace flowsampler
