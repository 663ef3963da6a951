#include "flowsampler/core/buffer.hpp"

#include <cstring>

#include "core/device.hpp"
#include "core/host_pool.hpp"
#include "flowsampler/core/error.hpp"

namespace flowsampler {

namespace detail {
void fail_device_buffer_without_context() {
  FLOWSAMPLER_FAIL("buffer: device memory belongs to a context; construct the buffer with the context");
}
void fail_buffer_overflow(std::size_t size, std::size_t elem) {
  FLOWSAMPLER_EXPECTS(false, "buffer: " << size << " elements of " << elem << " bytes overflow the address space");
}
}  // namespace detail

Storage::Storage(std::size_t bytes) : data_(cpu::host_allocate(bytes)), bytes_(bytes) {}

Storage::Storage(const Context& ctx, std::size_t bytes) : bytes_(bytes) {
  if (ctx.on_device()) {
    device_ = detail::shared_device_of(ctx);
    data_ = device_->allocate(bytes);
  } else {
    data_ = cpu::host_allocate(bytes);
  }
}

Storage Storage::borrow(void* data, std::size_t bytes) {
  FLOWSAMPLER_EXPECTS(data != nullptr || bytes == 0, "buffer: borrowing " << bytes << " bytes at a null pointer");
  Storage s;
  s.data_ = data;
  s.bytes_ = bytes;
  s.owned_ = false;
  return s;
}

Storage::Storage(Storage&& o) noexcept
    : data_(o.data_), bytes_(o.bytes_), owned_(o.owned_), device_(std::move(o.device_)) {
  o.data_ = nullptr;
  o.bytes_ = 0;
  o.owned_ = true;
}

Storage& Storage::operator=(Storage&& o) noexcept {
  if (this != &o) {
    release();
    data_ = o.data_, bytes_ = o.bytes_, owned_ = o.owned_, device_ = std::move(o.device_);
    o.data_ = nullptr, o.bytes_ = 0, o.owned_ = true;
  }
  return *this;
}

Storage::~Storage() { release(); }

void Storage::release() noexcept {
  if (!owned_)
    ;  // a borrowed view: the caller frees it
  else if (device_)
    device_->release(data_);
  else
    cpu::host_release(data_);
  data_ = nullptr;
  owned_ = true;
  device_.reset();
}

bool Storage::belongs_to(const Context& ctx) const {
  return device_ ? device_ == detail::shared_device_of(ctx) : !ctx.on_device();
}

void Storage::copy_from_host(const void* src, std::size_t bytes, std::size_t offset) {
  FLOWSAMPLER_EXPECTS(offset + bytes <= bytes_, "buffer: copying " << bytes << " bytes at " << offset << " into " << bytes_);
  if (bytes == 0) return;
  void* dst = static_cast<char*>(data_) + offset;
  if (device_)
    device_->upload(dst, src, bytes);
  else
    std::memcpy(dst, src, bytes);
}

void Storage::copy_to_host(void* dst, std::size_t bytes, std::size_t offset) const {
  FLOWSAMPLER_EXPECTS(offset + bytes <= bytes_, "buffer: copying " << bytes << " bytes at " << offset << " out of " << bytes_);
  if (bytes == 0) return;
  const void* src = static_cast<const char*>(data_) + offset;
  if (device_)
    device_->download(dst, src, bytes);
  else
    std::memcpy(dst, src, bytes);
}

void Storage::copy_from(const Storage& src, std::size_t bytes) {
  FLOWSAMPLER_EXPECTS(bytes <= bytes_ && bytes <= src.bytes_, "buffer: copying " << bytes << " bytes between blocks of "
                                                                                 << src.bytes_ << " and " << bytes_);
  if (bytes == 0) return;
  if (device_ && device_ == src.device_) return device_->copy(data_, src.data_, bytes);
  if (!device_ && !src.device_) return static_cast<void>(std::memcpy(data_, src.data_, bytes));
  if (!src.device_) return copy_from_host(src.data_, bytes);
  if (!device_) return src.copy_to_host(data_, bytes);
  // Between two devices: through the host.
  Storage staging(bytes);
  src.copy_to_host(staging.data_, bytes);
  copy_from_host(staging.data_, bytes);
}

}  // namespace flowsampler
