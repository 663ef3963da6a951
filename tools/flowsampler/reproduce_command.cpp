// `flowsampler reproduce NAME ... --out DIR`: the subcommand (the table and the run: reproduce_run.cpp).
#include "reproduce_command.hpp"
#include "command.hpp"

#include <CLI/CLI.hpp>

#include "cli_checks.hpp"

namespace flowsampler::cli {

namespace {

class ReproduceCommand final : public Command {
 public:
  const char* name() const override { return "reproduce"; }
  const char* summary() const override {
    return "Reproduce a seed paper's claim: claim and measurement side by side in DIR/result.json, "
           "DIR/table.md and DIR/*.png; exit 1 when a theorem-backed check fails";
  }
  bool writes_stdout() const override { return true; }
  void add_options(CLI::App& sub) override {
    std::string list = "Reproductions:\n";
    std::vector<std::string> keys;
    for (const auto& r : reproductions()) {
      keys.push_back(r.name);
      list += "  " + r.name + ": " + r.description + "\n";
  }
  sub.footer(list);
  sub.add_option("name", o_.name, "which reproduction")->required()->check(CLI::IsMember(keys));
  sub.add_flag("--quick", o_.options.quick, "smaller sizes (under a minute; the smoke tests use it)");
  add_seed_option(sub, o_.options.seed);
  sub.add_option("--seeds", o_.options.seeds,
                  "monge: seeds of Figure 2's comparison (0: the paper's 100, 5 with --quick); more seeds resolve "
                  "smaller differences between the methods")
      ->capture_default_str()->check(CLI::Range(0, 100000));
  sub.add_option("--out", o_.options.out_dir, "output directory (created)")->required();
  sub.add_option("--perturb", o_.perturb,
                  "testing: NAME=F multiplies the computed quantity or check NAME by F before it is checked "
                  "(repeatable; shows that a check can fail)");
  }
  int run(const std::string& backend) override { return run_reproduce(o_, backend); }

 private:
  ReproduceOptions o_;
};

}  // namespace

std::unique_ptr<Command> make_reproduce_command() { return std::make_unique<ReproduceCommand>(); }

}  // namespace flowsampler::cli
