// The Sinkhorn row of the closure table. The seed: Gaussian Sinkhorn dual
// potentials are quadratic, so the Sinkhorn-normalized drift is affine on
// Gaussians and the covariance ODE closes (its displayed formula was lost
// from the seed's text; derived here). For the cost |x - y|^2 and
// regularization eps KL(P | a x b), the entropic plan between N(m_a, A) and
// N(m_b, B) is Gaussian with cross-covariance
//   C_ab = (1/2) A^1/2 D_ab A^-1/2 - (s/2) I,  D_ab = (4 A^1/2 B A^1/2 + s^2 I)^1/2,  s = eps / 2
// (Janati et al. 2020; in 1-D it is the root of 2 c^2 + eps c - 2 a b = 0,
// the first-order condition of a + b - 2c - (eps/2) log(1 - c^2 / ab)), so the
// barycentric map is m_b + C_ab^T A^-1 (x - m_a) and the drift
// T_eps[mu -> beta] - T_eps[mu -> mu] (fields/drifts.hpp "sinkhorn") is
//   v(x) = (m_b - m_a) + M (x - m_a),  M = (1/2) A^-1/2 (D_ab - D_aa) A^-1/2,
// giving C' = M A + A M (as eps -> 0: half the w2 row towards N(m_b, B)).
// The claim checked: the library's particle Sinkhorn drift (two Sinkhorn
// solves on the particles and a sample of beta) has the rate C' of this
// closed form at the two samples' own covariances, with B not commuting
// with A. At finite n the plug-in entropic plans are biased by O(1/n) (the
// sample complexity of entropic OT at fixed eps, Mena & Niles-Weed 2019):
// measured, the ratio tr C'_particles / tr C'_closed stays below 1 by a few
// percent at n = 250 .. 1000 (see table.md). That bias is reported per n (a finding); the claim is
// the mean-field limit, the Richardson extrapolation (4 r(4n) - r(n)) / 3 of
// the ratio under the O(1/n) law, against 1. Tolerance: 99% Student-t over
// replicates times the extrapolation's propagated standard error; the
// Sinkhorn marginal tolerance (1e-6) is far below.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "closures.hpp"
#include "util.hpp"
#include "flowsampler/fields/drifts.hpp"

namespace flowsampler::cli::reproduce::closures_detail {

namespace {

Mat sinkhorn_slope(const Mat& A, const Mat& B, double eps) {
  const double s = eps / 2;
  const Eigen::Index d = A.rows();
  const Mat I = Mat::Identity(d, d);
  const Mat Ah = spectral(A, [](double v) { return std::sqrt(v); }), Aih = spectral(A, [](double v) { return 1 / std::sqrt(v); });
  auto D = [&](const Mat& X) { return spectral(4 * Ah * X * Ah + s * s * I, [](double v) { return std::sqrt(v); }); };
  return 0.5 * Aih * (D(B) - D(A)) * Aih;
}

}  // namespace

void sinkhorn_row(Section& s) {
  const std::size_t d = 2;
  // eps comparable to the covariances: the closure is 25% slower than its eps -> 0 (W2) limit, so the check tells them apart.
  const double eps = 3.0;
  const std::vector<std::size_t> sizes = s.o.quick ? std::vector<std::size_t>{250, 1000} : std::vector<std::size_t>{250, 1000, 4000};
  const int R = s.o.quick ? 4 : 6;
  const double tq = t99(R - 1);
  const Mat A0 = plane_rotation(d, 0, 1, 0.3) * Vec((Vec(2) << 1.5, 0.4).finished()).asDiagonal() * plane_rotation(d, 0, 1, 0.3).transpose();
  const Mat B = plane_rotation(d, 0, 1, -0.9) * Vec((Vec(2) << 0.6, 2.0).finished()).asDiagonal() * plane_rotation(d, 0, 1, -0.9).transpose();
  const Vec ma = (Vec(2) << -0.5, 0.2).finished(), mb = (Vec(2) << 0.7, -0.4).finished();
  fields::DriftOptions opt;
  opt.ot_eps = eps;
  opt.ot_tol = 1e-6;

  s.md << "\n## The Sinkhorn row (Sinkhorn-normalized drift closure)\n\n"
       << "Cloud N(m_a, A) (A eigenvalues 1.5, 0.4), target N(m_b, B) (eigenvalues 0.6, 2, eigenbases 69° apart: [A, B] = "
       << fmt((A0 * B - B * A0).norm(), 3) << "), eps = " << fmt(eps) << " (cost |x - y|^2). The particle drift T_eps[mu -> beta] - "
       << "T_eps[mu -> mu] (two Sinkhorn solves on the particles and n draws of beta) against the closed form C' = M A + A M, "
       << "M = (1/2) A^-1/2 ((4 A^1/2 B A^1/2 + eps^2/4)^1/2 - (4 A^2 + eps^2/4)^1/2) A^-1/2, at the two samples' own A and B "
          "(as the closure ODE starts at the cloud's own moments). "
       << R << " replicates per n. The affine-fit residual (RMS of v minus its least-squares affine fit, over RMS of v) is "
       << "the finite-n departure from an affine field (a finding).\n\n"
       << "| n | tr C'_particles | tr C'_closed | ratio ± SE | rel. ‖mean ΔC'‖_F | affine residual | tr C' at eps -> 0 |\n"
       << "|---|---|---|---|---|---|---|\n";
  Json rows = Json::array();
  std::vector<MeanSe> ratios;
  for (std::size_t n : sizes) {
    std::vector<double> pt, ct, dt, resid, ratio;
    std::vector<Mat> dC;
    Mat closed_sum = Mat::Zero(2, 2);
    double w2_limit = 0;
    for (int r = 0; r < R; ++r) {
      const Mat X = draw_gaussian(s.ctx, n, ma, A0), Y = draw_gaussian(s.ctx, n, mb, B);
      const Set beta = device(s.ctx, Y);
      const fields::DriftField<double> drift(s.ctx, fields::Drift::sinkhorn, opt, &beta);
      const Mat V = host(drift.evaluate(s.ctx, 0, device(s.ctx, X), {}).velocity);
      const Mat Xc = X.rowwise() - X.colwise().mean();
      const Mat Vc = V.rowwise() - V.colwise().mean();
      const Mat G = Vc.transpose() * Xc / double(n);  // E[v (x - m)^T]
      const Mat rate_p = G + G.transpose();
      const Mat A = cov_of(X), Bn = cov_of(Y), M = sinkhorn_slope(A, Bn, eps);
      const Mat rate_c = M * A + A * M;
      const Mat M0 = sinkhorn_slope(A, Bn, 1e-12);
      w2_limit += (M0 * A + A * M0).trace() / R;
      // Least-squares affine fit of v on x: slope G A^-1.
      const Mat fit_resid = Vc - Xc * (G * A.inverse()).transpose();
      resid.push_back(std::sqrt(fit_resid.squaredNorm() / Vc.squaredNorm()));
      pt.push_back(rate_p.trace()), ct.push_back(rate_c.trace()), dt.push_back(rate_p.trace() - rate_c.trace());
      ratio.push_back(rate_p.trace() / rate_c.trace());
      dC.push_back(rate_p - rate_c);
      closed_sum += rate_c;
    }
    Mat mean = Mat::Zero(2, 2);
    for (const Mat& D : dC) mean += D / R;
    const double scale = (closed_sum / R).norm();
    const MeanSe p = mean_se(pt), c = mean_se(ct), t = mean_se(dt), res = mean_se(resid), q = mean_se(ratio);
    ratios.push_back(q);
    std::printf("sinkhorn-row n = %zu: tr C' %.5f (closed %.5f), ratio %.4f +- %.4f, affine residual %.3g, eps->0 %.4f\n", n, p.mean, c.mean,
                q.mean, q.se, res.mean, w2_limit);
    s.md << "| " << n << " | " << fmt(p.mean, 6) << " | " << fmt(c.mean, 6) << " | " << fmt(q.mean, 4) << " ± " << fmt(q.se, 2) << " | "
         << fmt(mean.norm() / scale, 2) << " | " << fmt(res.mean, 3) << " | " << fmt(w2_limit, 4) << " |\n";
    rows.push_back({{"n", n}, {"replicates", R}, {"eps", eps}, {"trace_rate_particles", p.mean}, {"trace_rate_closed_form", c.mean},
                    {"trace_rate_diff", t.mean}, {"trace_rate_diff_se", t.se}, {"ratio", q.mean}, {"ratio_se", q.se},
                    {"rel_frobenius_mean_dev", mean.norm() / scale}, {"affine_residual", res.mean}, {"trace_rate_eps0", w2_limit}});
  }
  // Richardson under the O(1/n) law from the last two sizes (n and 4n).
  const MeanSe& r1 = ratios[ratios.size() - 2];
  const MeanSe& r2 = ratios.back();
  const double limit = (4 * r2.mean - r1.mean) / 3, limit_se = std::sqrt(16 * r2.se * r2.se + r1.se * r1.se) / 3;
  s.checks.near("sinkhorn-row/limit", "the particle Sinkhorn drift's rate tr C' tends to the closure's (ratio extrapolated to n = infinity)",
                limit, 1, tq * limit_se,
                "Richardson (4 r(4n) - r(n)) / 3 under the O(1/n) plug-in bias of entropic OT; tolerance t99(" + std::to_string(R - 1) +
                    " df) x its propagated standard error; a wrong closed form (eps -> 0 is " + fmt(rows.back()["trace_rate_eps0"].get<double>() /
                    rows.back()["trace_rate_closed_form"].get<double>(), 3) + " x) or a factor 2 fails");
  s.checks.at_most("sinkhorn-row/bias-shrinks", "the finite-n bias |1 - ratio| shrinks from n to 4n", std::abs(1 - r2.mean),
                   std::abs(1 - r1.mean), tq * std::hypot(r1.se, r2.se), "an estimator's consistency, not the seed's claim",
                   CheckKind::sanity);
  std::printf("sinkhorn-row extrapolated ratio %.4f +- %.4f (t99 %.2f)\n", limit, limit_se, tq);
  s.md << "\nExtrapolated to n = infinity (Richardson under the O(1/n) plug-in bias of entropic OT): ratio " << fmt(limit, 4) << " ± "
       << fmt(limit_se, 2) << " (tolerance t99 x SE = " << fmt(tq * limit_se, 2) << "). The per-n ratios below 1 are the finite-n bias "
       << "of the plug-in entropic plans (a finding).\n";
  s.result["sinkhorn_limit"] = {{"ratio", limit}, {"se", limit_se}, {"t99", tq}};
  s.result["sinkhorn_row"] = rows;
}

}  // namespace flowsampler::cli::reproduce::closures_detail
