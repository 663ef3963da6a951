// The table of `flowsampler reproduce` experiments and running one, without
// CLI11: the Python package (flowsampler.reproduce) runs them in process too.
#include <cmath>
#include <exception>

#include "flowsampler/core/error.hpp"
#include "outputs.hpp"
#include "reproduce_command.hpp"

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

}  // namespace flowsampler::cli
