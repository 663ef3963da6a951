// The estimator bias of the particle JKO scheme: each score estimator's
// covariance after K steps against the exact Bures–Wasserstein JKO sequence
// started from the same cloud's moments, as n grows. The bias is a finding
// (reported, never subtracted); the library default must be the estimator
// closest to the exact scheme.
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "flowsampler/flowsampler.hpp"
#include "jko_experiment.hpp"
#include "util.hpp"

namespace flowsampler::cli::reproduce::jko_repro {

namespace {

struct Cell {
  double err = NAN, trace = NAN, eps_max = NAN, solver_eps_max = NAN, seconds = NAN;
};

Cell measure(const Run& r) {
  Cell c;
  c.err = relative_cov_error(r.fits.back(), r.bures.back());
  c.trace = trace_bias(r.fits.back(), r.bures.back());
  c.eps_max = c.solver_eps_max = 0;
  for (std::size_t k = 1; k < r.flow.records.size(); ++k) {
    c.eps_max = std::max(c.eps_max, r.flow.records[k].eps_gaussian);
    c.solver_eps_max = std::max(c.solver_eps_max, r.flow.records[k].solver_eps);
  }
  c.seconds = r.seconds;
  return c;
}

}  // namespace

Bias estimator_bias(const Options& o, const Setting& s, Checks& checks) {
  const Backend backend = parse_backend(o.backend, "--backend");
  const std::vector<std::size_t> ns = o.quick ? std::vector<std::size_t>{500, 1000}
                                              : std::vector<std::size_t>{500, 1000, 2000, 4000, 8000, 16000};
  // The Sinkhorn score costs a Sinkhorn solve per gradient evaluation (tens
  // of seconds per step at n = 1000): not run in --quick, capped in the full run.
  // The largest n (16000) only for the plain KDE, whose bias trend it extends.
  const std::size_t ot_max = o.quick ? 0 : 1000, others_max = o.quick ? 1000 : 8000;
  const std::vector<jko::ScoreEstimator> ests = {jko::ScoreEstimator::kde, jko::ScoreEstimator::kde_corrected,
                                                 jko::ScoreEstimator::blob, jko::ScoreEstimator::ot};
  const jko::ScoreEstimator lib_default = jko::ScoreOptions{}.estimator;
  Bias out;
  out.n_ref = o.quick ? 1000 : 4000;
  nlohmann::json rows = nlohmann::json::array();
  std::map<std::string, std::map<std::size_t, Cell>> cells;
  for (std::size_t n : ns) {
    // The same data for every estimator at this n (a paired comparison).
    Context ctx = Context::create(backend, o.seed * 1000003 + n);
    const ParticleSet<double> x0 = s.data_law().sample<double>(ctx, n);
    for (auto e : ests) {
      if ((e == jko::ScoreEstimator::ot && n > ot_max) || (e != jko::ScoreEstimator::kde && n > others_max)) continue;
      Run r = run_particles(ctx, s, e, x0, s.steps, o.seed);
      const Cell c = measure(r);
      cells[jko::to_string(e)][n] = c;
      rows.push_back({{"estimator", jko::to_string(e)}, {"n", n}, {"cov_rel_error", c.err}, {"trace_bias", c.trace},
                      {"eps_gaussian_max", c.eps_max}, {"solver_eps_max", c.solver_eps_max}, {"seconds", c.seconds}});
      if (e == lib_default && n == out.n_ref) out.reference = std::move(r);
    }
  }
  // Replicates of the default at n_ref: the Monte-Carlo spread of its error.
  const int reps = o.quick ? 3 : 4;
  std::vector<double> errs = {cells[jko::to_string(lib_default)][out.n_ref].err};
  for (int q = 1; q < reps; ++q) {
    Context ctx = Context::create(backend, o.seed * 7919 + 31 * std::uint64_t(q) + 5);
    const ParticleSet<double> x0 = s.data_law().sample<double>(ctx, out.n_ref);
    errs.push_back(measure(run_particles(ctx, s, lib_default, x0, s.steps, o.seed)).err);
  }
  double mean = 0, var = 0;
  for (double e : errs) mean += e / double(errs.size());
  for (double e : errs) var += (e - mean) * (e - mean) / double(errs.size() - 1);
  const double se = std::sqrt(var / double(errs.size()));

  // The closest estimator at n_ref (the table's evidence for the default).
  std::string best;
  for (const auto& [name, by_n] : cells) {
    const auto it = by_n.find(out.n_ref);
    if (it != by_n.end() && (best.empty() || it->second.err < cells[best][out.n_ref].err)) best = name;
  }
  const std::string def = jko::to_string(lib_default);
  checks.at_most("jko/default-tracks-bures", "the particle JKO scheme (default estimator " + def + ") tracks the exact Bures–Wasserstein JKO "
                 "covariance: ‖S_K - S_K^BW‖_F / ‖S_K^BW‖_F after K = " + std::to_string(s.steps) + " steps at n = " +
                 std::to_string(out.n_ref) + " (mean of " + std::to_string(errs.size()) + " replicates)",
                 o.perturbed("default-cov-error", mean), 0.03, 2 * se,
                 "the exact scheme is the matrix recursion from the cloud's own moments (no sampling noise at k = 0); what is left is "
                 "the estimator's bias and its n^-1/2 fluctuation, whose replicate standard error (x2) is the tolerance. Fails if the "
                 "estimator under- or over-disperses by more than 3% (the plain KDE: about b^2 per unit variance)");
  checks.at_most("jko/default-is-closest", "the library default (" + def + ") is within 2 standard errors of the closest estimator (" + best +
                 ") at n = " + std::to_string(out.n_ref),
                 cells[def][out.n_ref].err, cells[best][out.n_ref].err, 2 * se,
                 "a choice backed by the table, not a seed statement", CheckKind::sanity);
  const auto& kde = cells["kde"];
  checks.at_most("jko/kde-bias-shrinks", "the plain KDE's covariance bias shrinks as n grows (n = " + std::to_string(ns.front()) + " -> " +
                 std::to_string(ns.back()) + ")",
                 kde.at(ns.back()).err, kde.at(ns.front()).err, 0,
                 "Silverman's b^2 ~ n^-1/3 in d = 2: the bias is a smoothing bias, not a bug", CheckKind::sanity);

  std::ostringstream t;
  t << "\n### Estimator bias against the exact Bures–Wasserstein JKO sequence\n\n"
    << "Relative covariance error ‖S_K - S_K^BW‖_F / ‖S_K^BW‖_F after K = " << s.steps << " steps of h = " << s.h
    << " (signed trace bias tr S_K / tr S_K^BW - 1 in brackets; max seed eps_k over the steps below). The same data for every "
       "estimator at each n.\n\n| n |";
  for (auto e : ests) t << " " << jko::to_string(e) << " |";
  t << "\n|---|";
  for (std::size_t q = 0; q < ests.size(); ++q) t << "---|";
  t << "\n";
  for (std::size_t n : ns) {
    t << "| " << n << " |";
    for (auto e : ests) {
      const auto& by_n = cells[jko::to_string(e)];
      const auto it = by_n.find(n);
      if (it == by_n.end())
        t << " (not run: cost" << (o.quick ? " in --quick" : "") << ") |";
      else
        t << " " << fmt(100 * it->second.err, 3) << "% (" << (it->second.trace >= 0 ? "+" : "") << fmt(100 * it->second.trace, 3)
          << "%); eps " << fmt(it->second.eps_max, 2) << " |";
    }
    t << "\n";
  }
  t << "\nDefault " << def << " at n = " << out.n_ref << ": mean error " << fmt(100 * mean, 3) << "% +- " << fmt(100 * se, 2)
    << "% (standard error, " << errs.size() << " replicates); closest at that n: " << best << ".\n";
  out.markdown = t.str();
  out.json = {{"rows", rows}, {"n_ref", out.n_ref}, {"default", def}, {"closest", best}, {"default_replicate_errors", errs},
              {"default_mean_error", mean}, {"default_error_se", se}, {"steps", s.steps}, {"h", s.h}};
  return out;
}

}  // namespace flowsampler::cli::reproduce::jko_repro
