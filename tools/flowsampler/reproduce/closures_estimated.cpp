// Closure rows driven by gradients *estimated from the particles*, against the
// closure ODE, as n grows. The seed's claim: the descent velocity of each
// energy is affine on Gaussians, so a Gaussian cloud moved by it stays
// Gaussian and its covariance follows the row's matrix ODE. Here no particle
// sees the closure's matrix or the cloud's Gaussian fit:
//   w2-ot       (claim) v = 2 (T_n(x) - x), T_n the exact optimal assignment
//               of the cloud to n draws of gamma = N(0, I): the gradient of
//               W2^2(., gamma_n) at each particle. With the assignment fixed
//               the particle ODE is solved exactly, x(t) = y + (x0 - y) e^-2t,
//               and the assignment stays optimal along it (McCann
//               interpolation of an optimal plan; checked by re-solving at t_end).
//   mmd-witness (claim) v = 4 (S_gamma_n - S_mu) x, the witness gradient of
//               MMD^2(mu, gamma_n) for k = (x^T y)^2 with both second moments
//               taken from the particles and from n draws of gamma (RK4).
//   kl-kde      (finding) v = -s_h(x) - x, s_h the library's KDE score of the
//               cloud (bandwidth h_n = n^-1/(d+4), self pair included). Its
//               mean-field limit on N(m, C) is the affine velocity
//               ((C + h^2 I)^-1 - I)(x - m) - m, whose closure is
//               C' = A_h C + C A_h, A_h = (C + h^2 I)^-1 - I; its gap to the
//               seed's kl row C' = 2 (I - C) is the smoothing bias, and the
//               particles' gap to it the finite-n bias (the self pair pulls
//               each score towards 0, contracting the cloud; a leave-one-out
//               KDE instead blows up on isolated tail points). Both are
//               reported with their numbers; only their decrease with n is
//               checked (sanity): at these n the KDE row is not a test of the
//               seed's claim, its estimator bias dominates.
// Each compares the particles' covariance at t_end with its ODE started at
// the cloud's own moments, over R independent replicates: the tolerance is
// the 99% Student-t quantile times the replicates' standard error, plus the
// RK4 error (below 1e-8 here).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "closures.hpp"
#include "util.hpp"
#include "flowsampler/fields/field.hpp"
#include "flowsampler/fields/gaussian_closure.hpp"
#include "flowsampler/fields/score_estimates.hpp"
#include "flowsampler/integrate/integrate.hpp"
#include "flowsampler/metrics/exact_w2.hpp"

namespace flowsampler::cli::reproduce::closures_detail {

namespace {

constexpr double kTend = 0.5;
constexpr int kSteps = 10;

// A particle velocity computed from the whole cloud on the host.
class CloudField final : public fields::Field<double> {
 public:
  using Fn = std::function<Mat(const Context&, const Set&)>;
  CloudField(std::size_t d, Fn f) : d_(d), f_(std::move(f)) {}
  std::size_t dim() const override { return d_; }
  fields::FieldValues<double> evaluate(const Context& ctx, double, const Set& z, const fields::FieldRequest&) const override {
    fields::FieldValues<double> r;
    r.velocity = device(ctx, f_(ctx, z));
    return r;
  }

 private:
  std::size_t d_;
  Fn f_;
};

// Classic RK4 for (m, C) under m' = fm(m, C), C' = fc(m, C): the smoothed
// closure, whose rhs is not one of the library's rows.
struct MC {
  Vec m;
  Mat C;
};
MC rk4(MC s, double t_end, int steps, const std::function<MC(const MC&)>& rhs) {
  const double dt = t_end / steps;
  auto axpy = [](const MC& a, double h, const MC& k) { return MC{a.m + h * k.m, a.C + h * k.C}; };
  for (int i = 0; i < steps; ++i) {
    const MC k1 = rhs(s), k2 = rhs(axpy(s, dt / 2, k1)), k3 = rhs(axpy(s, dt / 2, k2)), k4 = rhs(axpy(s, dt, k3));
    s.m += dt / 6 * (k1.m + 2 * k2.m + 2 * k3.m + k4.m);
    s.C += dt / 6 * (k1.C + 2 * k2.C + 2 * k3.C + k4.C);
    s.C = 0.5 * (s.C + s.C.transpose());
  }
  return s;
}

Mat closure_end(fields::Closure c, const Vec& m, const Mat& C, int steps) {
  const std::size_t d = std::size_t(m.size());
  fields::GaussianState g{std::vector<double>(m.data(), m.data() + d), std::vector<double>(C.data(), C.data() + C.size())};
  const fields::GaussianState e = fields::integrate_closure(c, g, kTend, steps).back();
  return Eigen::Map<const Mat>(e.cov.data(), Eigen::Index(d), Eigen::Index(d));
}

// One replicate: the particles' covariance at t_end and the references'.
struct Replicate {
  Mat particles, claim_ode, seed_ode;  // seed_ode: the seed's row (differs from claim_ode for kl-kde only)
  double assignment_gap = 0;           // w2-ot: cost of the kept pairing at t_end over the re-solved optimum, minus 1
};

Replicate kl_kde(Context& ctx, const Mat& X0, double h) {
  const std::size_t d = std::size_t(X0.cols());
  const Mat I = Mat::Identity(Eigen::Index(d), Eigen::Index(d));
  const CloudField field(d, [h](const Context& c, const Set& z) {
    const Mat s = host(fields::kde_score(c, h, z, z));
    return Mat(-s - host(z));
  });
  Set z = device(ctx, X0);
  integrate::integrate(ctx, field, z, integrate::uniform_grid(0, kTend, kSteps), integrate::Method::rk4);
  Replicate r;
  r.particles = cov_of(host(z));
  const Vec m0 = mean_of(X0);
  const Mat C0 = cov_of(X0);
  r.claim_ode = rk4({m0, C0}, kTend, 4 * kSteps, [&](const MC& s) {
                  const Mat A = (s.C + h * h * I).inverse() - I;
                  return MC{-s.m, A * s.C + s.C * A};
                }).C;
  r.seed_ode = closure_end(fields::Closure::kl_standard, m0, C0, 4 * kSteps);
  return r;
}

Replicate w2_ot(const Mat& X0, const Mat& Y) {
  const std::size_t n = std::size_t(X0.rows()), d = std::size_t(X0.cols());
  const metrics::Assignment a = metrics::exact_assignment(X0.data(), Y.data(), n, d);
  Mat Ys(n, d);
  for (std::size_t i = 0; i < n; ++i) Ys.row(Eigen::Index(i)) = Y.row(Eigen::Index(a.match[i]));
  const double e = std::exp(-2 * kTend);
  const Mat XT = e * X0 + (1 - e) * Ys;
  Replicate r;
  r.particles = cov_of(XT);
  r.claim_ode = r.seed_ode = closure_end(fields::Closure::w2_squared, mean_of(X0), cov_of(X0), 4 * kSteps);
  const metrics::Assignment again = metrics::exact_assignment(XT.data(), Y.data(), n, d);
  r.assignment_gap = (XT - Ys).rowwise().squaredNorm().mean() / again.cost - 1;
  return r;
}

Replicate mmd_witness(Context& ctx, const Mat& X0, const Mat& Y) {
  const std::size_t d = std::size_t(X0.cols());
  const Mat Sg = Y.transpose() * Y / double(Y.rows());
  const CloudField field(d, [Sg](const Context&, const Set& z) {
    const Mat X = host(z);
    const Mat S = X.transpose() * X / double(X.rows());
    return Mat(4 * X * (Sg - S));  // rows x^T (4 (S_gamma - S_mu)), both symmetric
  });
  Set z = device(ctx, X0);
  integrate::integrate(ctx, field, z, integrate::uniform_grid(0, kTend, 4 * kSteps), integrate::Method::rk4);
  Replicate r;
  r.particles = cov_of(host(z));
  r.claim_ode = r.seed_ode = closure_end(fields::Closure::mmd_polynomial, mean_of(X0), cov_of(X0), 4 * kSteps);
  return r;
}

}  // namespace

void estimated_rows(Section& s) {
  const std::size_t d = 3;
  // The KDE row costs n^2 per evaluation: smaller in --quick.
  auto sizes_of = [&](const std::string& row) {
    if (row == "kl-kde") return s.o.quick ? std::vector<std::size_t>{250, 1000} : std::vector<std::size_t>{500, 2000, 8000};
    return s.o.quick ? std::vector<std::size_t>{500, 2000} : std::vector<std::size_t>{500, 2000, 8000};
  };
  const int R = s.o.quick ? 4 : 6;
  const Mat U = plane_rotation(d, 0, 1, 0.52) * plane_rotation(d, 1, 2, 0.4);
  const Mat C0 = U * Vec((Vec(3) << 2.0, 0.5, 1.2).finished()).asDiagonal() * U.transpose();
  const Vec m0 = (Vec(3) << 0.5, -0.3, 0.2).finished();
  const Vec zero = Vec::Zero(3);
  const Mat I = Mat::Identity(3, 3);
  const double tq = t99(R - 1), rk4_tol = 1e-8;

  s.md << "\n## Closure rows moved by gradients estimated from the particles\n\n"
       << "N(m0, C0) in d = 3 (C0 eigenvalues 2, 0.5, 1.2, rotated), moved on [0, " << fmt(kTend) << "] by velocities computed from "
       << "the particles only; " << R << " independent replicates per n; the ODE starts at each replicate's own moments. "
       << "kl-kde: KDE score, h = n^-1/7, claim ODE C' = A_h C + C A_h (A_h = (C + h^2)^-1 - I, the mean-field KDE velocity), "
       << "its gap to the seed's kl row 2 (I - C) is the KDE bias. w2-ot: exact assignment to n draws of gamma. mmd-witness: "
       << "(x^T y)^2 witness gradient against n draws of gamma.\n\n"
       << "| row | n | h | tr C_particles(T) | tr C_ode(T) | t99 x SE | rel. ‖mean ΔC‖_F | gap to the seed's row (rel. ‖ΔC‖_F) |\n"
       << "|---|---|---|---|---|---|---|---|\n";
  std::printf("%-12s %6s %7s %12s %12s %10s %10s %10s\n", "row", "n", "h", "tr C_p", "tr C_ode", "tol", "rel dev", "seed gap");
  Json rows = Json::array();
  std::vector<double> kde_gap;
  for (const std::string row : {"kl-kde", "w2-ot", "mmd-witness"}) {
    for (std::size_t n : sizes_of(row)) {
      const double h = row == "kl-kde" ? std::pow(double(n), -1.0 / (double(d) + 4)) : 0;
      std::vector<double> dtr, ptr, otr, seed_gap, smoothing;
      std::vector<Mat> dC;
      Mat ode_sum = Mat::Zero(3, 3);
      double gap = 0;
      for (int r = 0; r < R; ++r) {
        const Mat X0 = draw_gaussian(s.ctx, n, m0, C0);
        Replicate rep;
        if (row == "kl-kde") {
          rep = kl_kde(s.ctx, X0, h);
        } else {
          const Mat Y = draw_gaussian(s.ctx, n, zero, I);
          rep = row == "w2-ot" ? w2_ot(X0, Y) : mmd_witness(s.ctx, X0, Y);
        }
        dtr.push_back(rep.particles.trace() - rep.claim_ode.trace());
        ptr.push_back(rep.particles.trace());
        otr.push_back(rep.claim_ode.trace());
        dC.push_back(rep.particles - rep.claim_ode);
        ode_sum += rep.claim_ode;
        seed_gap.push_back((rep.particles - rep.seed_ode).norm() / rep.seed_ode.norm());
        smoothing.push_back((rep.claim_ode - rep.seed_ode).norm() / rep.seed_ode.norm());
        gap = std::max(gap, std::abs(rep.assignment_gap));
      }
      // Per-entry mean and standard error of the covariance deviation.
      Mat mean = Mat::Zero(3, 3), se2 = Mat::Zero(3, 3);
      for (const Mat& D : dC) mean += D / R;
      for (const Mat& D : dC) se2 += (D - mean).cwiseAbs2() / double(R - 1) / double(R);
      const double scale = (ode_sum / R).norm();
      const MeanSe t = mean_se(dtr), pt = mean_se(ptr), ot = mean_se(otr), sg = mean_se(seed_gap);
      const std::string id = row + "/n" + std::to_string(n);
      const std::string what = row == "kl-kde" ? "the KDE-score KL flow follows C' = A_h C + C A_h (affine mean-field velocity, invariance proposition)"
                               : row == "w2-ot" ? "particles moved by 2 (T_n(x) - x), T_n the OT map to a sample of gamma, follow C' = 4 (C^1/2 - C)"
                                                : "particles moved by the MMD witness gradient against a sample of gamma follow the mmd-poly row";
      const std::string why = "mean over " + std::to_string(R) + " replicates; tolerance = t99(" + std::to_string(R - 1) +
                              " df) x their standard error + RK4 1e-8; fails if the particle velocity is not affine in the limit "
                              "or the ODE's rate is wrong (a factor 2 in the velocity moves tr C by far more)";
      if (row != "kl-kde") {
        s.checks.near(id + "/trace", what + ": tr C(T)", pt.mean, ot.mean, tq * t.se + rk4_tol, why);
        s.checks.at_most(id + "/frobenius", what + ": ‖mean (C_particles - C_ode)(T)‖_F / ‖C_ode‖_F", mean.norm() / scale, 0,
                         tq * std::sqrt(se2.sum()) / scale + rk4_tol, why);
      }
      if (row == "w2-ot")
        s.checks.at_most(id + "/assignment-kept", "the assignment stays optimal along the particle ODE (McCann interpolation)", gap, 0, 1e-9,
                         "re-solved exactly at t_end: relative cost gap, rounding only", CheckKind::sanity);
      std::printf("%-12s %6zu %7.3f %12.5f %12.5f %10.2e %10.2e %10.2e\n", row.c_str(), n, h, pt.mean, ot.mean, tq * t.se, mean.norm() / scale,
                  sg.mean);
      s.md << "| " << row << " | " << n << " | " << (h > 0 ? fmt(h, 3) : "-") << " | " << fmt(pt.mean, 6) << " | " << fmt(ot.mean, 6) << " | "
           << fmt(tq * t.se, 2) << " | " << fmt(mean.norm() / scale, 2) << " | " << fmt(sg.mean, 3) << " ± " << fmt(sg.se, 2) << " |\n";
      rows.push_back({{"row", row}, {"n", n}, {"bandwidth", h}, {"replicates", R}, {"trace_particles", pt.mean}, {"trace_ode", ot.mean},
                      {"trace_diff", t.mean}, {"trace_diff_se", t.se}, {"t99", tq}, {"rel_frobenius_mean_dev", mean.norm() / scale},
                      {"rel_frobenius_se", std::sqrt(se2.sum()) / scale}, {"seed_row_rel_gap", sg.mean}, {"seed_row_rel_gap_se", sg.se},
                      {"assignment_gap", gap}, {"smoothing_bias", mean_se(smoothing).mean}});
      if (row == "kl-kde") kde_gap.push_back(sg.mean);
    }
  }
  s.checks.at_most("kl-kde/bias-shrinks", "the KDE-driven KL flow's gap to the seed's kl row shrinks as n grows (n = " +
                       std::to_string(sizes_of("kl-kde").front()) + " -> " + std::to_string(sizes_of("kl-kde").back()) + ")",
                   kde_gap.back(), kde_gap.front(), 0, "an estimator's consistency, not the seed's claim: a finding", CheckKind::sanity);
  s.result["estimated_rows"] = rows;
  s.md << "\nFinding (kl-kde): the particles driven by the library's KDE score sit below both ODEs: the gap between the h-closure "
          "and the seed's kl row is the smoothing bias (h^2 under-dispersion), the gap between the particles and the h-closure "
          "(column 'rel. ‖mean ΔC‖_F') is the finite-n bias of the self pair; both shrink with n but dominate the Monte Carlo error, so "
          "this row is reported, not checked as the seed's claim. For w2-ot and mmd-witness the last column is Monte Carlo (the target "
          "sample) plus the bias of the empirical OT map.\n";
}

}  // namespace flowsampler::cli::reproduce::closures_detail
