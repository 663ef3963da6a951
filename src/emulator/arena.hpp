#pragma once
// The emulator's device memory: one reserved range of address space whose
// used part is mapped PROT_NONE except while an emulated kernel or copy runs
// (Arena::Access). Host code that reads or writes device memory outside them
// faults, and the fault handler names the arena and stops the program.
#include <cstddef>
#include <map>
#include <mutex>
#include <unordered_map>

namespace flowsampler::emulator {

class Arena {
 public:
  explicit Arena(std::size_t reserve_bytes);
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  /// A block of `bytes` (256-byte aligned), or null when the reservation is full.
  void* allocate(std::size_t bytes);
  void release(void* p) noexcept;
  bool contains(const void* p) const {
    return static_cast<const char*>(p) >= base_ && static_cast<const char*>(p) < base_ + reserved_;
  }
  /// Bytes of the reservation in use or between blocks (the mapped span).
  std::size_t span() const { return high_; }

  /// Opens the arena to the host for its lifetime (nested opens are counted).
  class Access {
   public:
    explicit Access(Arena& a) : a_(a) { a_.open(); }
    ~Access() { a_.close(); }
    Access(const Access&) = delete;
    Access& operator=(const Access&) = delete;

   private:
    Arena& a_;
  };

 private:
  void open();
  void close() noexcept;
  void protect(std::size_t from, std::size_t to, bool open) const;

  char* base_ = nullptr;
  std::size_t reserved_ = 0;
  std::size_t high_ = 0;  // end of the used span (page-aligned)
  int depth_ = 0;
  std::map<std::size_t, std::size_t> free_;  // offset -> bytes, below high_
  std::unordered_map<std::size_t, std::size_t> live_;
  std::mutex mu_;
};

}  // namespace flowsampler::emulator
