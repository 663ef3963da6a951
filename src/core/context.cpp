#include "flowsampler/core/context.hpp"

#include <sstream>

#include "core/device.hpp"
#include "core/cuda_runtime.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/core/version.hpp"

namespace flowsampler {

std::string to_string(Backend b) { return name_of(backend_names, b); }

Backend parse_backend(const std::string& text, const std::string& what) {
  return parse_name(backend_names, text == "automatic" ? "auto" : text, what);
}

int cuda_device_count() { return cuda::device_count(); }

namespace detail {
Device& device_of(const Context& ctx) { return *ctx.device_; }
std::shared_ptr<Device> shared_device_of(const Context& ctx) { return ctx.device_; }
}  // namespace detail

Context::Context(std::shared_ptr<detail::Device> device, std::uint64_t seed) : device_(std::move(device)), seed_(seed) {}
Context::Context(Context&&) noexcept = default;
Context& Context::operator=(Context&&) noexcept = default;
Context::~Context() = default;

Context Context::create(Backend backend, std::uint64_t seed, int threads) {
  if (backend == Backend::emulator) return Context(detail::make_emulator_device(threads), seed);
  const int devices = cuda::device_count();
  if (backend == Backend::cuda && devices == 0) {
    FLOWSAMPLER_EXPECTS(false, "backend: CUDA was requested but no CUDA device answers"
                                   << (built_with_cuda() ? " (no GPU or driver on this machine)"
                                                         : " (this build has no CUDA backend)")
                                   << "; use the cpu, emulator or auto backend");
  }
  if (backend == Backend::cpu || devices == 0) return Context(detail::make_cpu_device(threads), seed);
  return Context(detail::make_cuda_device(0, threads), seed);
}

Backend Context::backend() const { return device_->backend(); }
int Context::threads() const { return device_->threads(); }
void Context::set_threads(int threads) { device_->set_threads(threads); }
void Context::synchronize() const { device_->synchronize(); }
DeviceInfo Context::device_info() const { return device_->info(); }
DeviceCounters Context::counters() const { return device_->counters(); }
void Context::reset_counters() { device_->reset_counters(); }

std::string Context::describe() const {
  std::ostringstream os;
  os << "flowsampler " << version() << ", backend " << to_string(backend()) << ": " << device_->describe();
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
