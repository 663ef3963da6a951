#pragma once
/// \file RAII buffers in host memory or in a context's (device) memory.
#include <cstddef>
#include <memory>

#include "flowsampler/core/context.hpp"

namespace flowsampler {

/// Where a buffer lives: ordinary host memory, or device memory (a GPU's, or
/// the emulator's protected arena), which only the library's kernels touch.
enum class Memory { host, device };

/// Memory where `ctx`'s backend keeps its data.
inline Memory memory_of(const Context& ctx) { return ctx.on_device() ? Memory::device : Memory::host; }

/// An owning, movable block of bytes: host memory, or memory of a context's
/// backend (taken from its stream-ordered pool; the block keeps the backend
/// alive). The untyped core of Buffer<T>.
class Storage {
 public:
  Storage() = default;
  /// `bytes` of host memory (64-byte aligned).
  explicit Storage(std::size_t bytes);
  /// `bytes` in the memory of `ctx`'s backend.
  Storage(const Context& ctx, std::size_t bytes);
  /// A view of `bytes` of host memory owned by the caller, who keeps it alive
  /// while the view exists: nothing is copied, and nothing is freed on release
  /// (arrays handed over by a caller, e.g. a numpy array in the Python package).
  static Storage borrow(void* data, std::size_t bytes);
  Storage(Storage&& o) noexcept;
  Storage& operator=(Storage&& o) noexcept;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();

  void* data() const { return data_; }
  std::size_t bytes() const { return bytes_; }
  Memory memory() const { return device_ ? Memory::device : Memory::host; }
  /// True when the block lives where `ctx` computes (same host, or same device).
  bool belongs_to(const Context& ctx) const;

  /// Copies `bytes` from host memory `src` into the block at `offset` (an upload on a device).
  void copy_from_host(const void* src, std::size_t bytes, std::size_t offset = 0);
  /// Copies `bytes` at `offset` to host memory `dst` (a download on a device: waits for it).
  void copy_to_host(void* dst, std::size_t bytes, std::size_t offset = 0) const;
  /// Copies the first `bytes` of `src` (any memory) to the start of this block.
  void copy_from(const Storage& src, std::size_t bytes);

 private:
  void release() noexcept;
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  bool owned_ = true;  // false: a borrowed view
  std::shared_ptr<detail::Device> device_;  // null: host memory
};

/// An owning, non-copyable array of `size()` elements of T in host memory or
/// in a context's memory. Contents are uninitialized after construction.
template <class T>
class Buffer {
 public:
  Buffer() = default;
  /// Host memory. (Device memory needs a context: use the other constructor.)
  Buffer(std::size_t size, Memory where) : store_(host_bytes(size, where)), size_(size) {}
  /// In the memory of `ctx`'s backend.
  Buffer(const Context& ctx, std::size_t size) : store_(ctx, checked_bytes(size)), size_(size) {}
  /// A view of `size` elements of host memory owned by the caller (Storage::borrow).
  static Buffer borrow(T* data, std::size_t size) {
    Buffer b;
    b.store_ = Storage::borrow(data, checked_bytes(size));
    b.size_ = size;
    return b;
  }

  T* data() { return static_cast<T*>(store_.data()); }
  const T* data() const { return static_cast<const T*>(store_.data()); }
  std::size_t size() const { return size_; }
  Memory memory() const { return store_.memory(); }
  bool belongs_to(const Context& ctx) const { return store_.belongs_to(ctx); }

  /// Copies `size()` elements from host memory.
  void copy_from_host(const T* src) { store_.copy_from_host(src, size_ * sizeof(T)); }
  /// Copies `size()` elements to host memory.
  void copy_to_host(T* dst) const { store_.copy_to_host(dst, size_ * sizeof(T)); }
  /// Copies `size()` elements from another buffer (any memory).
  void copy_from(const Buffer& src) { store_.copy_from(src.store_, size_ * sizeof(T)); }
  /// The untyped block (partial copies at byte offsets).
  const Storage& store() const { return store_; }
  Storage& store() { return store_; }

 private:
  static std::size_t checked_bytes(std::size_t size);
  static std::size_t host_bytes(std::size_t size, Memory where);
  Storage store_;
  std::size_t size_ = 0;
};

namespace detail {
[[noreturn]] void fail_device_buffer_without_context();
[[noreturn]] void fail_buffer_overflow(std::size_t size, std::size_t elem);
}  // namespace detail

template <class T>
std::size_t Buffer<T>::checked_bytes(std::size_t size) {
  if (size > static_cast<std::size_t>(-1) / sizeof(T)) detail::fail_buffer_overflow(size, sizeof(T));
  return size * sizeof(T);
}

template <class T>
std::size_t Buffer<T>::host_bytes(std::size_t size, Memory where) {
  if (where != Memory::host) detail::fail_device_buffer_without_context();
  return checked_bytes(size);
}

}  // namespace flowsampler
