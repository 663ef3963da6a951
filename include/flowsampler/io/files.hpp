#pragma once
/// \file Checked file access shared by every reader and writer.
///
/// Inputs must be regular files: a directory, FIFO or device is refused
/// (flowsampler::Error) before it is opened, so nothing hangs on a FIFO or
/// reads /dev/zero forever. Outputs go to a temporary file in the target's
/// directory, are flushed, closed and checked, and only then renamed over the
/// target: a failed write (full disk, /dev/full) raises RuntimeError naming
/// the path and leaves an existing file untouched.
#include <functional>
#include <ostream>
#include <string>

namespace flowsampler::io {

/// Error naming `what` and `path` unless `path` names an existing regular file
/// (symbolic links followed).
void expect_regular_file(const std::string& path, const std::string& what);

/// The bytes of the regular file at `path` (expect_regular_file first);
/// RuntimeError naming the path when reading fails.
std::string read_file(const std::string& path, const std::string& what);

/// Writes `path` through `fill`: atomically (temporary file + rename) when
/// `path` is or will be a regular file, in place when it is an existing
/// character device (/dev/null, /dev/stdout). Error when `path` is a
/// directory, FIFO or other special file; RuntimeError naming the path (and
/// the system's reason) when creating, writing, flushing, closing or renaming
/// fails; the temporary file is removed then.
void write_file(const std::string& path, const std::function<void(std::ostream&)>& fill);

/// A fresh name for a temporary sibling of `path` (same directory, hidden,
/// unique within the process): `DIR/.NAME.tmp-PID-K`.
std::string temporary_sibling(const std::string& path);

}  // namespace flowsampler::io
