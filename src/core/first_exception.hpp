#pragma once
/// \file Keeps the first exception thrown inside an OpenMP loop for after it.
///
/// An exception must not leave an OpenMP region (the process would end with
/// std::terminate), and a thread cannot leave a worksharing loop early: each
/// iteration runs its work through run(), which catches, and the caller
/// rethrows once the region is over. Iterations after a failure are skipped.
#include <atomic>
#include <exception>
#include <mutex>

namespace flowsampler::detail {

class FirstException {
 public:
  /// Runs f() unless an earlier call failed; keeps f's exception, if the first.
  template <class F>
  void run(F&& f) noexcept {
    if (failed_.load(std::memory_order_relaxed)) return;
    try {
      f();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!first_) first_ = std::current_exception();
      failed_ = true;
    }
  }
  /// After the region: rethrows the kept exception, if any.
  void rethrow() const {
    if (first_) std::rethrow_exception(first_);
  }

 private:
  std::atomic<bool> failed_{false};
  std::mutex mu_;
  std::exception_ptr first_;
};

}  // namespace flowsampler::detail
