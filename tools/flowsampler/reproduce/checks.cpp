// The check recorder shared by the reproductions (see checks.hpp).
#include "checks.hpp"

#include <cmath>
#include <sstream>

#include "flowsampler/core/error.hpp"
#include "util.hpp"

namespace flowsampler::cli::reproduce {

bool Checks::add(Check c) {
  for (const auto& e : checks_) FLOWSAMPLER_EXPECTS(e.id != c.id, "reproduce: check id '" << c.id << "' recorded twice");
  c.perturbation = options_.perturbed(c.id, 1.0);
  c.measured *= c.perturbation;
  // A NaN on either side fails: the comparisons below are false for NaN.
  if (c.relation == "<=")
    c.holds = c.measured <= c.reference + c.tolerance;
  else if (c.relation == ">=")
    c.holds = c.measured >= c.reference - c.tolerance;
  else
    c.holds = std::abs(c.measured - c.reference) <= c.tolerance;
  checks_.push_back(c);
  return c.holds;
}

bool Checks::at_most(std::string id, std::string statement, double measured, double bound, double tolerance, std::string why,
                     CheckKind kind) {
  return add({std::move(id), std::move(statement), kind, "<=", measured, bound, tolerance, 1, std::move(why), false});
}

bool Checks::at_least(std::string id, std::string statement, double measured, double bound, double tolerance, std::string why,
                      CheckKind kind) {
  return add({std::move(id), std::move(statement), kind, ">=", measured, bound, tolerance, 1, std::move(why), false});
}

bool Checks::near(std::string id, std::string statement, double measured, double reference, double tolerance, std::string why,
                  CheckKind kind) {
  return add({std::move(id), std::move(statement), kind, "~", measured, reference, tolerance, 1, std::move(why), false});
}

bool Checks::all_hold() const {
  for (const auto& c : checks_)
    if (!c.holds) return false;
  return true;
}

std::size_t Checks::claims() const {
  std::size_t n = 0;
  for (const auto& c : checks_) n += c.kind == CheckKind::claim;
  return n;
}

nlohmann::json Checks::json() const {
  nlohmann::json list = nlohmann::json::array();
  bool claims_hold = true;
  for (const auto& c : checks_) {
    nlohmann::json j = {{"id", c.id},
                        {"kind", c.kind == CheckKind::claim ? "claim" : "sanity"},
                        {"statement", c.statement},
                        {"relation", c.relation},
                        {"measured", c.measured},
                        {"reference", c.reference},
                        {"tolerance", c.tolerance},
                        {"why", c.why},
                        {"holds", c.holds}};
    if (c.perturbation != 1) j["perturbation"] = c.perturbation;
    list.push_back(j);
    if (c.kind == CheckKind::claim) claims_hold = claims_hold && c.holds;
  }
  return {{"checks", list}, {"claims", claims()}, {"claims_hold", claims_hold}, {"all_checks_hold", all_hold()}};
}

std::string Checks::markdown() const {
  std::ostringstream t;
  t << "| kind | check | statement | measured | | reference | tolerance | holds |\n"
    << "|---|---|---|---:|:-:|---:|---:|:-:|\n";
  for (const auto& c : checks_)
    t << "| " << (c.kind == CheckKind::claim ? "claim" : "sanity") << " | `" << c.id << "` | " << c.statement << " | "
      << fmt(c.measured) << (c.perturbation != 1 ? " (perturbed x" + fmt(c.perturbation) + ")" : "") << " | "
      << (c.relation == "~" ? "≈" : c.relation == "<=" ? "≤" : "≥") << " | " << fmt(c.reference) << " | " << (c.relation == "~" ? "±" : c.relation == "<=" ? "+" : "−") << fmt(c.tolerance)
      << " | " << (c.holds ? "yes" : "**NO**") << " |\n";
  t << "\nTolerances:\n\n";
  for (const auto& c : checks_) t << "- `" << c.id << "`: " << c.why << "\n";
  return t.str();
}

}  // namespace flowsampler::cli::reproduce
