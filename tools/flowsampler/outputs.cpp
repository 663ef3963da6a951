// Staged outputs of a command (outputs.hpp).
#include "outputs.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "flowsampler/core/error.hpp"
#include "flowsampler/io/files.hpp"
#include "flowsampler/targets/spec.hpp"

namespace flowsampler::cli {

namespace {

namespace sfs = std::filesystem;

// The absolute, normalized path (symbolic links resolved where they exist): two
// names of one file compare equal.
std::string key_of(const std::string& path) {
  std::error_code ec;
  const sfs::path p = sfs::weakly_canonical(sfs::absolute(path), ec);
  std::string key = (ec ? sfs::absolute(path).lexically_normal() : p).string();
  while (key.size() > 1 && key.back() == '/') key.pop_back();  // "model/" names the directory model
  return key;
}

bool inside(const std::string& key, const std::string& dir_key) {
  return key.size() > dir_key.size() && key.compare(0, dir_key.size(), dir_key) == 0 &&
         (key[dir_key.size()] == '/' || dir_key == "/");
}

std::string parent_of(const std::string& path) {
  const sfs::path parent = sfs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

void expect_parent(const std::string& option, const std::string& path) {
  const std::string parent = parent_of(path);
  std::error_code ec;
  FLOWSAMPLER_EXPECTS(sfs::is_directory(parent, ec),
                      option << ": the directory " << parent << " of " << path << " does not exist");
}

}  // namespace

Outputs::~Outputs() {
  for (const Entry& e : entries_) {
    if (!e.output || e.published || e.device || e.staged.empty()) continue;
    std::error_code ec;
    sfs::remove_all(e.staged, ec);
  }
}

void Outputs::check_distinct(const Entry& e) const {
  for (const Entry& o : entries_) {
    if (o.device && e.device) continue;  // --out /dev/null --report /dev/null is fine
    FLOWSAMPLER_EXPECTS(e.key != o.key, e.option << ": " << e.path << " is also " << (o.output ? "the output " : "the input ")
                                                 << o.option << "; give distinct paths");
    FLOWSAMPLER_EXPECTS(!(o.dir && inside(e.key, o.key)),
                        e.option << ": " << e.path << " lies inside " << o.option << " " << o.path
                                 << (o.output ? ", which is replaced as a whole" : "") << "; write it elsewhere");
    FLOWSAMPLER_EXPECTS(!(e.dir && inside(o.key, e.key)),
                        o.option << ": " << o.path << " lies inside " << e.option << " " << e.path
                                 << (e.output ? ", which is replaced as a whole" : "") << "; write it elsewhere");
  }
}

Outputs::Entry Outputs::entry(const std::string& option, const std::string& path, bool output) {
  Entry e;
  e.option = option;
  e.path = path;
  e.key = key_of(path);
  e.output = output;
  return e;
}

void Outputs::input(const std::string& option, const std::string& path) {
  if (path.empty()) return;
  Entry e = entry(option, path, false);
  std::error_code ec;
  e.dir = sfs::is_directory(path, ec);
  entries_.push_back(e);
}

void Outputs::target(const std::string& option, const std::string& path) {
  if (path.empty()) return;
  const std::vector<std::string> files = targets::target_files(path);
  input(option, files[0]);
  for (std::size_t i = 1; i < files.size(); ++i) input(option + "'s \"points\" file", files[i]);
}

std::string Outputs::file(const std::string& option, const std::string& path) {
  if (path.empty()) return {};
  Entry e = entry(option, path, true);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    FLOWSAMPLER_EXPECTS(!S_ISDIR(st.st_mode), option << ": " << path << " is a directory, expected a file name");
    FLOWSAMPLER_EXPECTS(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode),
                        option << ": " << path << " exists and is not a regular file (a FIFO or socket); refusing to write it");
    e.device = S_ISCHR(st.st_mode);
  }
  check_distinct(e);
  if (!e.device) expect_parent(option, path);
  e.staged = e.device ? path : io::temporary_sibling(e.key);  // beside a symbolic link's target, which is replaced
  entries_.push_back(e);
  return e.staged;
}

std::string Outputs::directory(const std::string& option, const std::string& path, const std::string& marker,
                               const std::string& what) {
  if (path.empty()) return {};
  Entry e = entry(option, path, true);
  e.dir = true;
  std::error_code ec;
  if (sfs::exists(path, ec)) {
    FLOWSAMPLER_EXPECTS(sfs::is_directory(path, ec), option << ": " << path << " exists and is not a directory");
    FLOWSAMPLER_EXPECTS(sfs::is_empty(path, ec) || sfs::exists(sfs::path(path) / marker, ec),
                        option << ": " << path << " is a directory without a " << marker << " (not " << what
                               << " written before); refusing to replace it");
  }
  check_distinct(e);
  expect_parent(option, path);
  e.staged = io::temporary_sibling(e.key);
  FLOWSAMPLER_EXPECTS(sfs::create_directory(e.staged, ec) && !ec,
                      option << ": cannot create the directory " << e.staged << " (" << ec.message() << ")");
  entries_.push_back(e);
  return e.staged;
}

void Outputs::publish() {
  for (Entry& e : entries_) {
    if (!e.output || e.published) continue;
    e.published = true;
    if (e.device) continue;
    std::error_code ec;
    if (!e.dir) {
      if (!sfs::exists(e.staged, ec)) continue;  // not written (an optional output the run did not produce)
      if (std::rename(e.staged.c_str(), e.key.c_str()) != 0) {
        const int err = errno;
        sfs::remove(e.staged, ec);
        FLOWSAMPLER_RUNTIME_FAIL(e.option << ": cannot move the finished file over " << e.path << " (" << std::strerror(err) << ")");
      }
      continue;
    }
    // A directory: the old one moves aside, the new one in, then the old one goes.
    std::string old;
    if (sfs::exists(e.path, ec)) {
      old = io::temporary_sibling(key_of(e.path)) + ".old";
      sfs::rename(e.path, old, ec);
      if (ec) {
        sfs::remove_all(e.staged, ec);
        FLOWSAMPLER_RUNTIME_FAIL(e.option << ": cannot move the old " << e.path << " aside (" << ec.message() << ")");
      }
    }
    sfs::rename(e.staged, e.path, ec);
    if (ec) {
      const std::string why = ec.message();
      if (!old.empty()) sfs::rename(old, e.path, ec);
      sfs::remove_all(e.staged, ec);
      FLOWSAMPLER_RUNTIME_FAIL(e.option << ": cannot move the finished directory to " << e.path << " (" << why << ")");
    }
    if (!old.empty()) sfs::remove_all(old, ec);
  }
}

}  // namespace flowsampler::cli
