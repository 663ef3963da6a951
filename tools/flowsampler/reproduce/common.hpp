#pragma once
// What every `flowsampler reproduce NAME` experiment shares: its options, the
// result files it writes (DIR/result.json, DIR/table.md) and its figures
// (DIR/NAME.json, a figure spec, rendered to DIR/NAME.png by tools/plot_figure.py).
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

namespace flowsampler::cli::reproduce {

struct Options {
  std::string out_dir;          ///< created if missing
  bool quick = false;           ///< smaller sizes: under a minute, for the smoke tests
  std::uint64_t seed = 0;
  std::string backend = "auto";
  /// Seeds of the experiments repeated over seeds (monge's Figure 2); 0 = the
  /// reproduction's own count (the paper's, or fewer with --quick).
  int seeds = 0;
  /// --perturb NAME=F (testing): multiply the computed quantity or check NAME by F.
  std::map<std::string, double> perturb;
  /// The --perturb names the run looked up; a name never looked up is an error after the run.
  std::shared_ptr<std::set<std::string>> perturb_used = std::make_shared<std::set<std::string>>();

  /// `value` times the --perturb factor for `name` (1 when none is given).
  double perturbed(const std::string& name, double value) const {
    perturb_used->insert(name);
    const auto it = perturb.find(name);
    return it == perturb.end() ? value : value * it->second;
  }
};

/// Writes DIR/result.json (the measured figures, the claims and whether each
/// holds) and DIR/table.md (claim next to measurement), creating DIR.
void write_result(const Options& o, const nlohmann::json& result, const std::string& table_markdown);

/// Writes the figure spec DIR/NAME.json and renders DIR/NAME.png with
/// tools/plot_figure.py. A missing python3/matplotlib is a warning on stderr,
/// not a failure: the spec keeps every number of the figure.
/// Spec: {"title": str, "panels": [{"kind": "lines"|"hist"|"scatter"|"ellipses",
///   "title", "xlabel", "ylabel", "logx", "logy",
///   "series": [{"label", "x": [..], "y": [..], "style": "o-"}]            (lines)
///   "series": [{"label", "values": [..], "bins": 30}]                      (hist)
///   "series": [{"label", "points": [[x, y], ..], "size": 1}]               (scatter)
///   "series": [{"label", "mean": [x, y], "cov": [[a, b], [b, c]]}]         (ellipses, 2 sigma)
/// }]}; panels are laid out in one row.
void draw_figure(const Options& o, const std::string& name, const nlohmann::json& spec);

// The experiments; each returns the process exit code (0: ran and every
// theorem-backed check held, 1: a check failed; bad input throws Error).
int km_stability(const Options& o);
int follmer_complexity(const Options& o);
int fm_gaussian_map(const Options& o);
int closures(const Options& o);
int jko_convergence(const Options& o);
int monge(const Options& o);

}  // namespace flowsampler::cli::reproduce
