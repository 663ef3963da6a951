// Checked reads and atomic writes (flowsampler/io/files.hpp).
#include "flowsampler/io/files.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "flowsampler/core/error.hpp"

namespace flowsampler::io {
namespace {

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

std::string reason(int err) { return err ? std::string(" (") + std::strerror(err) + ")" : std::string(); }

// Streams `fill` into `path` (opened with truncation), then flushes, closes and checks.
void write_checked(const std::string& path, const std::string& shown, const std::function<void(std::ostream&)>& fill) {
  std::ofstream out;
  errno = 0;
  out.open(path, std::ios::binary | std::ios::trunc);
  if (!out.is_open()) FLOWSAMPLER_RUNTIME_FAIL(shown << ": cannot open for writing" << reason(errno));
  fill(out);
  errno = 0;
  out.flush();
  const int flush_errno = errno;
  out.close();
  const int err = flush_errno ? flush_errno : errno;
  if (out.fail()) FLOWSAMPLER_RUNTIME_FAIL(shown << ": write failed" << reason(err));
}

}  // namespace

void expect_regular_file(const std::string& path, const std::string& what) {
  struct stat st;
  FLOWSAMPLER_EXPECTS(!path.empty(), what << ": empty file name");
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    FLOWSAMPLER_EXPECTS(false, what << ": " << path << (err == ENOENT ? ": no such file" : ": cannot access" + reason(err)));
  }
  FLOWSAMPLER_EXPECTS(S_ISREG(st.st_mode), what << ": " << path << " is " << kind_of(st.st_mode) << ", expected a regular file");
}

std::string read_file(const std::string& path, const std::string& what) {
  expect_regular_file(path, what);
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) FLOWSAMPLER_EXPECTS(false, what << ": " << path << ": cannot open for reading" << reason(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) FLOWSAMPLER_RUNTIME_FAIL(what << ": " << path << ": read error" << reason(errno));
  return bytes;
}

std::string temporary_sibling(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  const std::size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  std::ostringstream os;
  os << dir << "." << name << ".tmp-" << ::getpid() << "-" << counter++;
  return os.str();
}

void write_file(const std::string& path, const std::function<void(std::ostream&)>& fill) {
  FLOWSAMPLER_EXPECTS(!path.empty(), "output: empty file name");
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISCHR(st.st_mode)) return write_checked(path, path, fill);  // /dev/null, /dev/stdout: no rename
    FLOWSAMPLER_EXPECTS(S_ISREG(st.st_mode), path << " is " << kind_of(st.st_mode) << ", expected a regular file to write");
  }
  const std::string tmp = temporary_sibling(path);
  try {
    write_checked(tmp, path, fill);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    FLOWSAMPLER_RUNTIME_FAIL(path << ": cannot replace it with the finished file" << reason(err));
  }
}

}  // namespace flowsampler::io
