#pragma once
// The checks of one reproduction, recorded the same way by every experiment.
//
// A *claim* compares a quantity a seed paper states with an independent
// computation of it, in a setting where the statement is sharp or near-sharp,
// with a tolerance derived from the Monte-Carlo standard error and the
// integrator error (the `why` text says how, and why the check could fail).
// A *sanity* check is reported the same way but is labelled as not being
// evidence: it holds by construction or is far from sharp. Any failing check
// makes the run exit 1.
//
// `--perturb ID=F` (testing) multiplies the measured value of check ID by F
// before it is compared, so a test can show that a factor-2 error in the
// computed quantity makes the claim fail.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common.hpp"

namespace flowsampler::cli::reproduce {

enum class CheckKind { claim, sanity };

struct Check {
  std::string id;         ///< short key, unique in the run ("cor3.4/mixture/s0.5")
  std::string statement;  ///< what the seed states, with its reference (Theorem 2.13, ...)
  CheckKind kind = CheckKind::claim;
  std::string relation;   ///< "<=", ">=" or "~" (|measured - reference| <= tolerance)
  double measured = 0, reference = 0, tolerance = 0;
  double perturbation = 1;  ///< the --perturb factor applied to `measured` (1: none)
  std::string why;          ///< how the tolerance was derived and why the check could fail
  bool holds = false;
};

class Checks {
 public:
  explicit Checks(const Options& o) : options_(o) {}

  /// measured <= bound + tolerance. Returns whether it holds.
  bool at_most(std::string id, std::string statement, double measured, double bound, double tolerance, std::string why,
               CheckKind kind = CheckKind::claim);
  /// measured >= bound - tolerance.
  bool at_least(std::string id, std::string statement, double measured, double bound, double tolerance, std::string why,
                CheckKind kind = CheckKind::claim);
  /// |measured - reference| <= tolerance.
  bool near(std::string id, std::string statement, double measured, double reference, double tolerance, std::string why,
            CheckKind kind = CheckKind::claim);

  const std::vector<Check>& list() const { return checks_; }
  bool all_hold() const;
  std::size_t claims() const;  ///< number of claim-level checks (the evidence)

  /// {"checks": [...], "claims": n, "claims_hold": bool, "all_checks_hold": bool}
  /// merged into a result object by the caller.
  nlohmann::json json() const;
  /// A markdown table: kind, check, statement, measured, relation, reference, tolerance, holds.
  std::string markdown() const;
  /// 0 when every check holds, 1 otherwise (the reproduction's exit code).
  int exit_code() const { return all_hold() ? 0 : 1; }

 private:
  bool add(Check c);
  const Options& options_;
  std::vector<Check> checks_;
};

}  // namespace flowsampler::cli::reproduce
