// `flowsampler reproduce fm-gaussian-map` (seed: flow-matching-drifting-gaussian-closures).
//
// Between N(0, Sigma_0) (the noise) and N(m, S) (the target), every scalar
// path Z_t = a X + b Y with a(0) = 0, b(1) = 0 has the same terminal map
//   T_FM(x) = m + Sigma_0^1/2 C^1/2 Sigma_0^-1/2 x,  C = Sigma_0^-1/2 S Sigma_0^-1/2,
// because after whitening the covariance path a^2 C + b^2 I stays a function
// of C. It is the Brenier map T_OT only when Sigma_0 and S commute. The maps
// are measured by integrating the exact velocity (dopri5) from the same noise
// particles along linear, follmer, cosine and vp (horizon 10: a(0) = e^-10,
// whose own closed form differs from T_FM by O(e^-10)).
#include <Eigen/Dense>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "checks.hpp"
#include "common.hpp"
#include "util.hpp"
#include "flowsampler/core/random.hpp"
#include "flowsampler/fields/gmm_field.hpp"
#include "flowsampler/integrate/integrate.hpp"
#include "flowsampler/metrics/map_distance.hpp"
#include "flowsampler/paths/path.hpp"
#include "flowsampler/targets/gaussian_mixture.hpp"

namespace flowsampler::cli::reproduce {

namespace {

using Json = nlohmann::json;
using Set = ParticleSet<double>;
using Mat = Eigen::MatrixXd;
using Vec = Eigen::VectorXd;

Mat sqrtm(const Mat& M) { return spectral(M, [](double v) { return std::sqrt(v); }); }
Mat inv_sqrtm(const Mat& M) { return spectral(M, [](double v) { return 1 / std::sqrt(v); }); }

std::vector<double> flat(const Mat& M) { return std::vector<double>(M.data(), M.data() + M.size()); }

// x -> offset + A x on a column-major cloud.
Set affine(const Context& ctx, const Set& x, const Vec& offset, const Mat& A) {
  const std::size_t n = x.n(), d = x.d();
  const std::vector<double> h = x.to_host();
  const Eigen::Map<const Mat> X(h.data(), Eigen::Index(n), Eigen::Index(d));
  Mat Y = X * A.transpose();
  Y.rowwise() += offset.transpose();
  return Set::from_column_major(ctx, Y.data(), n, d);
}

struct Problem {
  Mat S0, S;
  Vec m;
};

struct Measured {
  std::vector<double> path_error;  // ||T_path - its closed form||, per path
  double spread = 0;               // max ||T_p - T_q|| over linear, follmer, cosine
  double vp_gap = 0, vp_gap_closed = 0;  // ||T_vp - T_FM||: measured, closed form
  Paired fm_ot;                    // ||T_linear - T_OT|| measured on the particles
  double fm_ot_closed = 0, commutator = 0, scale = 0, cov_error = 0;
  std::vector<Set> images;         // per path
  Set ot;
};

const std::vector<std::string> kPaths = {"linear", "follmer", "cosine", "vp"};
constexpr double kVpHorizon = 10;

Measured measure(Context& ctx, const Problem& p, std::size_t N, double rtol) {
  const std::size_t d = std::size_t(p.m.size());
  const Mat S0h = sqrtm(p.S0), S0ih = inv_sqrtm(p.S0);
  const Mat C = S0ih * p.S * S0ih, Ch = sqrtm(C);
  const Mat A_fm = S0h * Ch * S0ih;
  const Mat A_ot = S0ih * sqrtm(S0h * p.S * S0h) * S0ih;
  Measured r;
  r.scale = std::sqrt(p.S.trace() + p.m.squaredNorm());
  r.commutator = (p.S0 * p.S - p.S * p.S0).norm();
  const Mat dA = A_fm - A_ot;
  r.fm_ot_closed = std::sqrt((dA * p.S0 * dA.transpose()).trace());
  Set eps(ctx, N, d);
  fill_normal(ctx, eps);
  const Set x = affine(ctx, eps, Vec::Zero(Eigen::Index(d)), S0h);  // x ~ N(0, Sigma_0)
  targets::GaussianMixture target(d);
  target.add(1, std::vector<double>(p.m.data(), p.m.data() + d), flat(p.S));
  const fields::GmmField field(target, targets::Noise::full(flat(p.S0), d));
  integrate::AdaptiveOptions ao;
  ao.rtol = ao.atol = rtol;
  const Set t_fm = affine(ctx, x, p.m, A_fm);
  r.ot = affine(ctx, x, p.m, A_ot);
  for (const std::string& name : kPaths) {
    paths::PathOptions po;
    po.horizon = kVpHorizon;
    const paths::Path path = paths::make_path(name, po);
    Set z = x.copy(ctx);
    integrate::integrate_adaptive(ctx, fields::GmmFlow<double>(field, path), z, 0.0, 1.0, ao);
    Set closed = t_fm.copy(ctx);
    if (name == "vp") {  // the path starts at a0 = e^-T > 0: its own closed form
      const paths::PathPoint p0 = path.at(0);
      const Mat W0 = p0.a * p0.a * C + p0.b * p0.b * Mat::Identity(Eigen::Index(d), Eigen::Index(d));
      const Mat A_vp = S0h * Ch * inv_sqrtm(W0) * S0ih;
      closed = affine(ctx, x, p.m - A_vp * (p0.a * p.m), A_vp);
      r.vp_gap_closed = paired(closed, t_fm).l2;
      r.vp_gap = paired(z, t_fm).l2;
    }
    r.path_error.push_back(paired(z, closed).l2);
    r.images.push_back(std::move(z));
  }
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = i + 1; j < 3; ++j) r.spread = std::max(r.spread, paired(r.images[i], r.images[j]).l2);
  r.fm_ot = paired(r.images[0], r.ot);
  // The pushed cloud's covariance against S (a transport-map sanity figure, Monte Carlo).
  const std::vector<double> h = r.images[0].to_host();
  const Eigen::Map<const Mat> Y(h.data(), Eigen::Index(N), Eigen::Index(d));
  const Mat Yc = Y.rowwise() - Y.colwise().mean();
  r.cov_error = ((Yc.transpose() * Yc) / double(N - 1) - p.S).norm() / p.S.norm();
  return r;
}

// The checks of one problem: every path's terminal map is the closed form T_FM
// (dopri5 at rtol 1e-10: error ~1e-6 x scale allowed), the paths agree with each
// other, and ||T_FM - T_OT|| matches its closed form within z Monte-Carlo
// standard errors; with commuting covariances T_FM is the Brenier map.
bool record(Checks& checks, const std::string& where, const Measured& r, double tol, double z, bool commuting) {
  const double max_err = *std::max_element(r.path_error.begin(), r.path_error.end());
  const std::string integ = "dopri5 at rtol = atol = 1e-10 on maps of size scale: 1e-6 x scale; a factor 2 in the map is O(scale)";
  bool ok = checks.at_most(where + "/paths-closed-form", "every scalar path (linear, follmer, cosine, vp) ends at T_FM = m + Sigma_0^1/2 "
                                                         "C^1/2 Sigma_0^-1/2 x (max over paths of ||T_path - closed form||)",
                           max_err, 0, tol, integ);
  ok = checks.at_most(where + "/paths-agree", "the terminal maps of linear, follmer and cosine coincide (max pairwise L2 distance)", r.spread,
                      0, 2 * tol, integ) && ok;
  ok = checks.near(where + "/fm-ot-gap", "||T_FM - T_OT||^2 on the particles equals its closed form tr(dA Sigma_0 dA^T)", r.fm_ot.sq,
                   r.fm_ot_closed * r.fm_ot_closed, z * r.fm_ot.sq_se + 2 * tol * r.scale,
                   "Monte Carlo over the noise particles: " + fmt(z) + " standard errors of the mean squared distance, plus the "
                   "integrator's 2 x 1e-6 x scale^2; fails if T_FM or T_OT is off (a factor 2 in the gap is many standard errors)") && ok;
  if (commuting)
    ok = checks.at_most(where + "/brenier", "commuting Sigma_0, S: T_FM is the Brenier map (||T_FM - T_OT||)", r.fm_ot.l2, 0, 2 * tol, integ) && ok;
  else
    ok = checks.at_least(where + "/not-brenier", "non-commuting Sigma_0, S: T_FM is not the Brenier map (||T_FM - T_OT|| > 100 x integrator)",
                         r.fm_ot.l2, 100 * tol, 0, "far from sharp: the fm-ot-gap check is the sharp one", CheckKind::sanity) && ok;
  return ok;
}

Mat rotation2(double theta) {
  Mat R(2, 2);
  R << std::cos(theta), -std::sin(theta), std::sin(theta), std::cos(theta);
  return R;
}

}  // namespace

int fm_gaussian_map(const Options& o) {
  const auto wall0 = std::chrono::steady_clock::now();
  Context ctx = Context::create(parse_backend(o.backend, "--backend"), o.seed);
  Checks checks(o);
  const std::size_t N = o.quick ? (1u << 12) : (1u << 16);
  const int n_angles = o.quick ? 5 : 13;
  const double rtol = 1e-10, z_sigma = 4;
  const double pi = std::acos(-1.0);
  // Integrator tolerance of the checks: dopri5 at rtol = atol = 1e-10 on maps of size ~scale.
  const double int_tol = 1e-6;

  Json result = {{"experiment", "fm-gaussian-map"},
                 {"seed_paper", "flow-matching-drifting-gaussian-closures"},
                 {"claim", "Between N(0, Sigma_0) and N(m, S) the terminal map of every scalar-schedule path is "
                           "m + Sigma_0^1/2 C^1/2 Sigma_0^-1/2 x (C = Sigma_0^-1/2 S Sigma_0^-1/2), the same for all paths, "
                           "and it equals the Brenier map iff Sigma_0 S = S Sigma_0"},
                 {"quick", o.quick}, {"seed", o.seed}, {"n", N}, {"integrator", "dopri5, rtol = atol = 1e-10"},
                 {"vp_horizon", kVpHorizon}, {"backend", to_string(ctx.backend())},
                 {"tolerance", "path maps agree within " + fmt(int_tol) + " x scale (integrator); ||T_FM - T_OT|| matches its closed "
                               "form within " + fmt(z_sigma) + " standard errors"}};
  std::ostringstream md;
  md << "# fm-gaussian-map (seed: flow-matching-drifting-gaussian-closures)\n\n"
     << "Claim: every scalar-schedule path from N(0, Sigma_0) to N(m, S) has the terminal map m + Sigma_0^1/2 C^1/2 "
        "Sigma_0^-1/2 x, and it is the Brenier map only when Sigma_0 and S commute.\n\n"
     << "d = 2, Sigma_0 = diag(1, 0.25), S = R(theta) diag(3, 0.5) R(theta)^T, m = (1, -0.5); N = " << N
     << " noise particles, dopri5 (rtol = atol = 1e-10) on the exact velocity; vp with horizon " << kVpHorizon
     << " starts at a(0) = e^-10 and is compared with its own closed form.\n\n"
     << "| theta | ‖[Sigma_0, S]‖ | max path error | spread (lin/follmer/cos) | ‖T_vp - T_FM‖ (closed form) | ‖T_FM - T_OT‖ "
        "measured | closed form | holds |\n|---|---|---|---|---|---|---|---|\n";
  std::cout << "fm-gaussian-map: N = " << N << ", d = 2, " << n_angles << " angles between the eigenbases\n";
  std::printf("%7s %11s %11s %11s %11s %11s %11s %5s\n", "theta", "[S0,S]", "path err", "spread", "vp gap", "FM-OT", "closed", "ok");
  Json rows = Json::array();
  std::vector<double> th, meas, closed, spreads, errs;
  std::vector<std::vector<double>> per_path(kPaths.size());
  Json scatter_fm, scatter_ot;
  for (int i = 0; i < n_angles; ++i) {
    const double theta = 0.5 * pi * i / (n_angles - 1);
    Problem p;
    p.S0 = Vec::Map(std::vector<double>{1.0, 0.25}.data(), 2).asDiagonal();
    const Mat R = rotation2(theta);
    p.S = R * Vec::Map(std::vector<double>{3.0, 0.5}.data(), 2).asDiagonal() * R.transpose();
    p.m = Vec::Map(std::vector<double>{1.0, -0.5}.data(), 2);
    const Measured r = measure(ctx, p, N, rtol);
    const double max_err = *std::max_element(r.path_error.begin(), r.path_error.end());
    const double tol = int_tol * r.scale;
    const bool commuting = r.commutator < 1e-12;
    const bool ok = record(checks, "theta-" + fmt(theta, 3), r, tol, z_sigma, commuting);
    std::printf("%7.4f %11.3g %11.3g %11.3g %11.3g %11.4g %11.4g %5s\n", theta, r.commutator, max_err, r.spread, r.vp_gap, r.fm_ot.l2,
                r.fm_ot_closed, ok ? "yes" : "NO");
    md << "| " << fmt(theta) << " | " << fmt(r.commutator, 3) << " | " << fmt(max_err, 2) << " | " << fmt(r.spread, 2) << " | "
       << fmt(r.vp_gap, 2) << " (" << fmt(r.vp_gap_closed, 2) << ") | " << fmt(r.fm_ot.l2) << " | " << fmt(r.fm_ot_closed) << " | "
       << (ok ? "yes" : "**no**") << " |\n";
    Json pe = Json::object();
    for (std::size_t k = 0; k < kPaths.size(); ++k) pe[kPaths[k]] = r.path_error[k];
    rows.push_back({{"theta", theta}, {"commutator", r.commutator}, {"path_error", pe}, {"spread", r.spread}, {"vp_gap", r.vp_gap},
                    {"vp_gap_closed_form", r.vp_gap_closed}, {"fm_ot", r.fm_ot.l2}, {"fm_ot_sq_se", r.fm_ot.sq_se},
                    {"fm_ot_closed_form", r.fm_ot_closed}, {"pushed_covariance_rel_error", r.cov_error}, {"scale", r.scale},
                    {"holds", ok}});
    th.push_back(theta), meas.push_back(r.fm_ot.l2), closed.push_back(r.fm_ot_closed), spreads.push_back(std::max(r.spread, 1e-16)),
        errs.push_back(std::max(max_err, 1e-16));
    for (std::size_t k = 0; k < kPaths.size(); ++k) per_path[k].push_back(paired(r.images[k], r.ot).l2);
    if (i == n_angles / 2) {  // a few particles under both maps at the middle angle
      scatter_fm = Json::array(), scatter_ot = Json::array();
      const std::vector<double> a = r.images[0].to_host(), b = r.ot.to_host();
      for (std::size_t j = 0; j < std::min<std::size_t>(N, 400); ++j) {
        scatter_fm.push_back({a[j], a[N + j]});
        scatter_ot.push_back({b[j], b[N + j]});
      }
    }
  }
  result["angles"] = rows;
  // d = 8: random eigenbases (fixed draws), the paths still share one map.
  {
    const std::size_t d = 8;
    std::mt19937_64 rng(o.seed + 8);
    std::normal_distribution<double> g;
    auto random_orthogonal = [&] {
      Mat G(d, d);
      for (Eigen::Index i = 0; i < G.size(); ++i) G.data()[i] = g(rng);
      return Mat(Eigen::HouseholderQR<Mat>(G).householderQ());
    };
    Vec l0(d), l1(d), m(d);
    for (std::size_t k = 0; k < d; ++k) l0[Eigen::Index(k)] = 0.3 + 0.2 * double(k), l1[Eigen::Index(k)] = 2.0 - 0.2 * double(k), m[Eigen::Index(k)] = g(rng);
    Problem p;
    const Mat U0 = random_orthogonal(), U1 = random_orthogonal();
    p.S0 = U0 * l0.asDiagonal() * U0.transpose();
    p.S = U1 * l1.asDiagonal() * U1.transpose();
    p.m = m;
    const Measured r = measure(ctx, p, o.quick ? 2048 : 16384, rtol);
    const double max_err = *std::max_element(r.path_error.begin(), r.path_error.end());
    const bool ok = record(checks, "d8", r, int_tol * r.scale, z_sigma, false);
    std::printf("d = 8, random eigenbases: path error %.3g, spread %.3g, ||T_FM - T_OT|| %.4g (closed form %.4g): %s\n", max_err, r.spread,
                r.fm_ot.l2, r.fm_ot_closed, ok ? "yes" : "NO");
    md << "\nd = 8, random eigenbases (Sigma_0 eigenvalues 0.3 .. 1.7, S eigenvalues 2 .. 0.6): max path error " << fmt(max_err, 2)
       << ", spread " << fmt(r.spread, 2) << ", ||T_FM - T_OT|| = " << fmt(r.fm_ot.l2) << " (closed form " << fmt(r.fm_ot_closed)
       << "): " << (ok ? "holds" : "**fails**") << ".\n";
    result["d8"] = {{"path_error_max", max_err}, {"spread", r.spread}, {"fm_ot", r.fm_ot.l2}, {"fm_ot_closed_form", r.fm_ot_closed},
                    {"commutator", r.commutator}, {"holds", ok}};
  }
  result.update(checks.json());
  result["wall_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  md << "\n## Checks\n\n" << checks.markdown();
  write_result(o, result, md.str());
  Json series = Json::array({{{"label", "closed form"}, {"x", th}, {"y", closed}, {"style", "k-"}}});
  const char* styles[] = {"o", "s", "^", "x"};
  for (std::size_t k = 0; k < kPaths.size(); ++k)
    series.push_back({{"label", kPaths[k] + " (integrated)"}, {"x", th}, {"y", per_path[k]}, {"style", styles[k]}});
  draw_figure(o, "fm-gaussian-map",
              {{"title", "Flow-matching maps between Gaussians: one map for every scalar path, Brenier only when the covariances commute"},
               {"panels",
                Json::array({{{"kind", "lines"}, {"title", "||T_FM - T_OT||_L2 vs angle between eigenbases"}, {"xlabel", "theta (rad)"},
                              {"ylabel", "L2(N(0, Sigma_0)) distance"}, {"series", series}},
                             {{"kind", "lines"}, {"title", "paths agree (integrator error)"}, {"xlabel", "theta (rad)"},
                              {"ylabel", "distance"}, {"logy", true},
                              {"series", Json::array({{{"label", "max over paths of ||T_path - closed form||"}, {"x", th}, {"y", errs}},
                                                      {{"label", "spread linear/follmer/cosine"}, {"x", th}, {"y", spreads}}})}},
                             {{"kind", "scatter"}, {"title", "images at theta = pi/4: T_FM (flow) and T_OT"},
                              {"series", Json::array({{{"label", "T_FM(x)"}, {"points", scatter_fm}, {"size", 3}},
                                                      {{"label", "T_OT(x)"}, {"points", scatter_ot}, {"size", 3}}})}}})}});
  std::cout << "claims: " << checks.claims() << ", all checks hold: " << (checks.all_hold() ? "yes" : "NO") << " ("
            << fmt(result["wall_seconds"].get<double>(), 3) << " s)\n";
  return checks.exit_code();
}

}  // namespace flowsampler::cli::reproduce
