#include "emulator/arena.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "flowsampler/core/error.hpp"

namespace flowsampler::emulator {

namespace {

// ---- the fault handler ----
// Arenas register their ranges here; the SIGSEGV handler looks a faulting
// address up without locks or allocation (it runs in a signal handler).

constexpr int max_arenas = 256;
std::atomic<std::uintptr_t> arena_lo[max_arenas], arena_hi[max_arenas];
struct sigaction previous_action;
std::once_flag handler_installed;

void write_str(const char* s) {
  const ssize_t r = ::write(STDERR_FILENO, s, std::strlen(s));
  (void)r;
}
void write_hex(std::uintptr_t v) {
  char buf[2 + 2 * sizeof v + 1];
  buf[0] = '0', buf[1] = 'x';
  for (int i = 0; i < int(2 * sizeof v); ++i) buf[2 + i] = "0123456789abcdef"[(v >> (4 * (2 * sizeof v - 1 - i))) & 0xf];
  buf[sizeof buf - 1] = 0;
  write_str(buf);
}

void on_fault(int sig, siginfo_t* info, void* uctx) {
  const auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
  for (int k = 0; k < max_arenas; ++k) {
    const std::uintptr_t lo = arena_lo[k].load(std::memory_order_relaxed), hi = arena_hi[k].load(std::memory_order_relaxed);
    if (lo != 0 && addr >= lo && addr < hi) {
      write_str("flowsampler emulator: host code touched device memory at ");
      write_hex(addr);
      write_str(" (offset ");
      write_hex(addr - lo);
      write_str(" in an emulator context's arena). Device data reach the host only through "
                "downloads (ParticleSet::to_host, Buffer::copy_to_host) or reductions; this access "
                "would read garbage or crash on a GPU.\n");
      ::signal(SIGABRT, SIG_DFL);
      ::abort();
    }
  }
  // Not ours: hand the fault to whoever handled it before (default: core dump).
  if (previous_action.sa_flags & SA_SIGINFO) {
    if (previous_action.sa_sigaction) return previous_action.sa_sigaction(sig, info, uctx);
  } else if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN &&
             previous_action.sa_handler) {
    return previous_action.sa_handler(sig);
  }
  ::signal(sig, SIG_DFL);  // returning re-executes the access, which now takes the default action
}

void install_handler() {
  std::call_once(handler_installed, [] {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = &on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &previous_action);
  });
}

void register_range(const char* base, std::size_t bytes) {
  for (int k = 0; k < max_arenas; ++k) {
    std::uintptr_t expected = 0;
    if (arena_lo[k].compare_exchange_strong(expected, reinterpret_cast<std::uintptr_t>(base))) {
      arena_hi[k].store(reinterpret_cast<std::uintptr_t>(base) + bytes);
      return;
    }
  }
}

void unregister_range(const char* base) {
  for (int k = 0; k < max_arenas; ++k)
    if (arena_lo[k].load() == reinterpret_cast<std::uintptr_t>(base)) {
      arena_hi[k].store(0);
      arena_lo[k].store(0);
    }
}

std::size_t page() {
  static const std::size_t p = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return p;
}

constexpr std::size_t alignment = 256;

}  // namespace

Arena::Arena(std::size_t reserve_bytes) : reserved_((reserve_bytes + page() - 1) / page() * page()) {
  void* p = ::mmap(nullptr, reserved_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) FLOWSAMPLER_RUNTIME_FAIL("device error: the emulator cannot reserve " << reserved_ << " bytes of address space");
  base_ = static_cast<char*>(p);
  install_handler();
  register_range(base_, reserved_);
}

Arena::~Arena() {
  unregister_range(base_);
  ::munmap(base_, reserved_);
}

void Arena::protect(std::size_t from, std::size_t to, bool open) const {
  if (to <= from) return;
  if (::mprotect(base_ + from, to - from, open ? PROT_READ | PROT_WRITE : PROT_NONE) != 0)
    FLOWSAMPLER_RUNTIME_FAIL("device error: the emulator cannot change the protection of its arena");
}

void* Arena::allocate(std::size_t bytes) {
  const std::size_t size = (bytes + alignment - 1) / alignment * alignment;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = free_.begin(); it != free_.end(); ++it) {  // first fit
    if (it->second < size) continue;
    const std::size_t off = it->first, rest = it->second - size;
    free_.erase(it);
    if (rest) free_.emplace(off + size, rest);
    live_.emplace(off, size);
    return base_ + off;
  }
  // Grow the used span; a block at the end that is free is extended.
  std::size_t off = high_;
  if (!free_.empty()) {
    const auto last = std::prev(free_.end());
    if (last->first + last->second == high_) off = last->first, free_.erase(last);
  }
  const std::size_t need = (off + size + page() - 1) / page() * page();
  if (need > reserved_) return nullptr;
  if (depth_ > 0) protect(high_, need, true);
  if (off + size < need) free_.emplace(off + size, need - off - size);
  high_ = need;
  live_.emplace(off, size);
  return base_ + off;
}

void Arena::release(void* p) noexcept {
  if (!p) return;
  std::lock_guard<std::mutex> lock(mu_);
  const std::size_t off = static_cast<std::size_t>(static_cast<char*>(p) - base_);
  const auto it = live_.find(off);
  if (it == live_.end()) return;
  std::size_t start = off, size = it->second;
  live_.erase(it);
  // Coalesce with the free neighbours.
  auto next = free_.lower_bound(start);
  if (next != free_.end() && next->first == start + size) size += next->second, next = free_.erase(next);
  if (next != free_.begin()) {
    const auto prev = std::prev(next);
    if (prev->first + prev->second == start) start = prev->first, size += prev->second, free_.erase(prev);
  }
  free_.emplace(start, size);
}

void Arena::open() {
  std::lock_guard<std::mutex> lock(mu_);
  if (depth_++ == 0) protect(0, high_, true);
}

void Arena::close() noexcept {
  std::lock_guard<std::mutex> lock(mu_);
  if (--depth_ == 0) {
    try {
      protect(0, high_, false);
    } catch (...) {
    }
  }
}

}  // namespace flowsampler::emulator
