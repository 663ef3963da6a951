#pragma once
/// \file Errors raised by flowsampler and the one macro family that raises them.
#include <sstream>
#include <stdexcept>
#include <string>

namespace flowsampler {

/// Every failure the library reports: invalid arguments (a std::invalid_argument,
/// message names the argument and what was expected) and failures of the
/// machine or a vendor library (file, line and status in the message).
class Error : public std::invalid_argument {
 public:
  explicit Error(const std::string& what) : std::invalid_argument(what) {}
};

/// Failures of the machine rather than of the input: a device (CUDA, cuBLAS,
/// CUB) status, device memory exhausted, a file that cannot be written. The
/// CLI exits 1 on these and 2 on Error.
class RuntimeError : public std::runtime_error {
 public:
  explicit RuntimeError(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
[[noreturn]] inline void fail_runtime(const char* file, int line, const std::string& msg) {
  std::ostringstream os;
  os << msg << " [" << file << ":" << line << "]";
  throw RuntimeError(os.str());
}
[[noreturn]] inline void fail(const char* file, int line, const std::string& msg) {
  std::ostringstream os;
  os << msg << " [" << file << ":" << line << "]";
  throw Error(os.str());
}
}  // namespace detail
}  // namespace flowsampler

/// Check an argument or precondition; `msg` is streamed, e.g.
/// FLOWSAMPLER_EXPECTS(d > 0, "d must be positive, got " << d).
#define FLOWSAMPLER_EXPECTS(cond, msg)                                  \
  do {                                                                  \
    if (!(cond)) {                                                      \
      std::ostringstream flowsampler_os_;                               \
      flowsampler_os_ << msg;                                           \
      throw ::flowsampler::Error(flowsampler_os_.str());                \
    }                                                                   \
  } while (0)

/// Raise an internal or environment failure with file and line attached.
#define FLOWSAMPLER_FAIL(msg)                                           \
  do {                                                                  \
    std::ostringstream flowsampler_os_;                                 \
    flowsampler_os_ << msg;                                             \
    ::flowsampler::detail::fail(__FILE__, __LINE__, flowsampler_os_.str()); \
  } while (0)

/// Raise a RuntimeError (machine, device or I/O failure) with file and line attached.
#define FLOWSAMPLER_RUNTIME_FAIL(msg)                                   \
  do {                                                                  \
    std::ostringstream flowsampler_os_;                                 \
    flowsampler_os_ << msg;                                             \
    ::flowsampler::detail::fail_runtime(__FILE__, __LINE__, flowsampler_os_.str()); \
  } while (0)
