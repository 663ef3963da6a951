#pragma once
// The files and directories one command writes, staged so that nothing is
// lost: every output is validated before any work (parent directory exists,
// not a directory/FIFO where a file goes, distinct from the other outputs
// and the inputs, not inside an input or output directory), written to a
// temporary sibling, and renamed over its target only by publish(), once the
// whole command has succeeded. Whatever was not published is removed by the
// destructor, so a failed command leaves existing outputs untouched.
#include <string>
#include <vector>

namespace flowsampler::cli {

class Outputs {
 public:
  Outputs() = default;
  Outputs(const Outputs&) = delete;
  Outputs& operator=(const Outputs&) = delete;
  ~Outputs();

  /// An input of the command (`option` names it in messages); outputs may not
  /// be it or, for a directory, lie inside it. Empty paths are ignored.
  void input(const std::string& option, const std::string& path);

  /// A target spec input and, for an empirical target, the "points" file it
  /// names (writing samples over the data they were drawn from loses them).
  void target(const std::string& option, const std::string& path);

  /// Registers the output file `path` of `option` and returns where to write
  /// it: a temporary sibling, or `path` itself when it is a character device
  /// (/dev/null). Returns "" for an empty path (the output is off).
  std::string file(const std::string& option, const std::string& path);

  /// Registers the output directory `path`, replaced as a whole on publish,
  /// and returns a fresh temporary directory to fill. An existing `path` must
  /// be a directory that is empty or holds `marker` (`what`, written before:
  /// by default a model or map's manifest.json): any other directory is
  /// refused rather than replaced.
  std::string directory(const std::string& option, const std::string& path, const std::string& marker = "manifest.json",
                        const std::string& what = "a model or map");

  /// Renames every staged output over its target; RuntimeError naming the path
  /// when that fails.
  void publish();

 private:
  struct Entry {
    std::string option, path, key, staged;
    bool output = false, dir = false, device = false, published = false;
  };
  static Entry entry(const std::string& option, const std::string& path, bool output);
  void check_distinct(const Entry& e) const;
  std::vector<Entry> entries_;
};

}  // namespace flowsampler::cli
