// `flowsampler reproduce NAME ... --out DIR`: the table of reproductions and the subcommand.
#include "reproduce_command.hpp"
#include "command.hpp"

#include <CLI/CLI.hpp>

#include <cmath>
#include <exception>

#include "cli_checks.hpp"
#include "outputs.hpp"

#include "flowsampler/core/error.hpp"

namespace flowsampler::cli {

const std::vector<Reproduction>& reproductions() {
  static const std::vector<Reproduction> table = {
      {"km-stability", "Kim-Milman map: W2 <= ||T^mu - T^nu||_L2 <= alpha^-1 sqrt(FI(nu || mu)) (kim-milman-stability)",
       reproduce::km_stability},
      {"follmer-complexity", "Föllmer flow: Euler steps for W2 error eps grow like sqrt(tr Sigma) / eps (wasserstein-complexity-flows)",
       reproduce::follmer_complexity},
      {"fm-gaussian-map", "Gaussian-to-Gaussian flow maps: one map for every scalar path, Brenier only for commuting covariances",
       reproduce::fm_gaussian_map},
      {"closures", "Gaussian closures: particle flows against their matrix ODEs, and the seed's closure figure",
       reproduce::closures},
      {"jko-convergence", "JKO flows: convergence of the proximal (JKO) scheme (jko-flow-convergence)", reproduce::jko_convergence},
      {"monge", "Monge maps by constrained drifting (monge-maps-constrained-drifting)", reproduce::monge},
  };
  return table;
}

int run_reproduce(const ReproduceOptions& o, const std::string& backend) {
  reproduce::Options options = o.options;
  options.backend = backend;
  for (const auto& p : o.perturb) {
    const auto eq = p.rfind('=');  // the factor follows the last '=' (ids may hold one)
    FLOWSAMPLER_EXPECTS(eq != std::string::npos && eq > 0, "--perturb: expected NAME=FACTOR, got '" << p << "'");
    const std::string name = p.substr(0, eq), value = p.substr(eq + 1);
    double factor = NAN;
    std::size_t used = 0;
    try {
      factor = std::stod(value, &used);
    } catch (const std::exception&) {
    }
    FLOWSAMPLER_EXPECTS(used == value.size() && std::isfinite(factor),
                        "--perturb " << name << ": expected a finite factor, got '" << value << "'");
    options.perturb[name] = factor;
  }
  FLOWSAMPLER_EXPECTS(options.seeds == 0 || o.name == "monge",
                      "--seeds: only monge repeats an experiment over seeds (its Figure 2), not " << o.name);
  for (const auto& r : reproductions())
    if (r.name == o.name) {
      // The directory is written aside and replaced as a whole: a run that
      // stops with an error leaves the previous results intact. A run whose
      // checks fail (exit 1) is published: its numbers are the finding.
      Outputs outputs;
      options.out_dir = outputs.directory("--out", o.options.out_dir, "result.json", "a reproduction's output");
      const int rc = r.run(options);
      for (const auto& [name, factor] : options.perturb)
        FLOWSAMPLER_EXPECTS(options.perturb_used->count(name),
                            "--perturb: reproduction " << o.name << " has no check or quantity named '" << name << "'");
      outputs.publish();
      return rc;
    }
  FLOWSAMPLER_EXPECTS(false, "reproduce: unknown experiment '" << o.name << "'");
  return 2;
}

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
