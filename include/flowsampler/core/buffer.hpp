#pragma once
/// \file RAII buffers in host or device memory.
#include <cstddef>
#include <memory>
#include <utility>

namespace flowsampler {

/// Where a buffer lives: ordinary host memory, or CUDA device memory.
enum class Memory { host, device };

namespace detail {
void* allocate_bytes(Memory where, std::size_t bytes);
void release_bytes(Memory where, void* p) noexcept;
/// memcpy across host/device in any direction; synchronous.
void copy_bytes(void* dst, Memory dst_where, const void* src, Memory src_where, std::size_t bytes);
}  // namespace detail

/// An owning, non-copyable array of `size()` elements of T in `memory()`.
/// Contents are uninitialized after construction.
template <class T>
class Buffer {
 public:
  Buffer() = default;
  Buffer(std::size_t size, Memory where)
      : data_(static_cast<T*>(detail::allocate_bytes(where, size * sizeof(T))), Deleter{where}),
        size_(size) {}

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  std::size_t size() const { return size_; }
  Memory memory() const { return data_.get_deleter().where; }

  /// Copies `size()` elements from `src` (which lives in `src_where`).
  void copy_from(const T* src, Memory src_where) {
    detail::copy_bytes(data(), memory(), src, src_where, size_ * sizeof(T));
  }
  /// Copies `size()` elements to `dst` (which lives in `dst_where`).
  void copy_to(T* dst, Memory dst_where) const {
    detail::copy_bytes(dst, dst_where, data(), memory(), size_ * sizeof(T));
  }

 private:
  struct Deleter {
    Memory where = Memory::host;
    void operator()(T* p) const noexcept { detail::release_bytes(where, p); }
  };
  std::unique_ptr<T, Deleter> data_{nullptr, Deleter{}};
  std::size_t size_ = 0;
};

}  // namespace flowsampler
