// Gaussian preservation of the Gelbrich/JKO step. The seed (after Gelbrich's
// inequality): a functional that does not increase under the moment-matched
// Gaussian projection admits Gaussian minimizing movements from Gaussian
// data. KL(. | pi), pi Gaussian, is one (the Gaussian maximizes entropy at
// fixed moments), so the JKO step rho+ = argmin KL(. | pi) + W2^2(., rho) / (2h)
// from rho = N(m, S) is Gaussian: the library's closed-form Bures step
// (jko/bures_step.hpp) T(x) = m+ + A (x - m). The independent check: over
// all maps T_s = T + s phi, the objective
//   J(s) = E_rho[log rho(x) - log det grad T_s(x) - log pi(T_s(x)) + |T_s(x) - x|^2 / (2h)]
// (KL(T_s # rho | pi) by change of variables, W2^2 <= E|T_s - x|^2 with
// equality for gradient maps) is stationary at s = 0 in affine directions
// (a wrong S+ fails there) and in non-affine gradient directions phi =
// grad psi, psi cubic or quartic (a non-Gaussian law doing better fails
// there). J'(0) is a per-sample pathwise derivative averaged over n draws of
// rho: the tolerance is 4 standard errors. J(delta) + J(-delta) - 2 J(0) > 0 (a minimum,
// not a saddle) with common random numbers.
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "closures.hpp"
#include "util.hpp"
#include "flowsampler/jko/bures_step.hpp"

namespace flowsampler::cli::reproduce::closures_detail {

namespace {

struct Direction {
  std::string name;
  std::function<Vec(const Vec&)> phi;   // the perturbation field at y = x - m
  std::function<Mat(const Vec&)> dphi;  // its (symmetric) Jacobian
};

}  // namespace

void jko_gaussian_step(Section& s) {
  const std::size_t d = 2, n = s.o.quick ? 40000 : 400000;
  const double h = 0.5, z = 4;
  const Mat S = plane_rotation(d, 0, 1, 0.4) * Vec((Vec(2) << 2.0, 0.3).finished()).asDiagonal() * plane_rotation(d, 0, 1, 0.4).transpose();
  const Mat Ss = plane_rotation(d, 0, 1, -0.7) * Vec((Vec(2) << 0.5, 1.5).finished()).asDiagonal() * plane_rotation(d, 0, 1, -0.7).transpose();
  const Vec m = (Vec(2) << 1.0, -0.5).finished(), ms = (Vec(2) << -0.3, 0.8).finished();
  auto flat = [](const auto& M) { return std::vector<double>(M.data(), M.data() + M.size()); };
  const jko::BuresStep step = jko::bures_jko_step({flat(m), flat(S)}, {flat(ms), flat(Ss)}, h);
  const Vec mp = Eigen::Map<const Vec>(step.next.mean.data(), 2);
  // --perturb closures/jko-slope=F scales the step's slope (shows the affine directions detect a wrong step).
  const Mat A = s.o.perturbed("closures/jko-slope", 1.0) * Eigen::Map<const Mat>(step.A.data(), 2, 2);
  const Mat Ssi = Ss.inverse();
  const Vec u = (Vec(2) << std::cos(1.1), std::sin(1.1)).finished();
  const Mat E = (Mat(2, 2) << 0.3, 1.0, 1.0, -0.6).finished();
  const std::vector<Direction> dirs = {
      {"affine: shift", [](const Vec&) { return Vec((Vec(2) << 0.6, -0.8).finished()); }, [](const Vec&) { return Mat(Mat::Zero(2, 2)); }},
      {"affine: symmetric slope", [E](const Vec& y) { return Vec(E * y); }, [E](const Vec&) { return E; }},
      {"non-affine: grad (u.y)^3 / 3", [u](const Vec& y) { return Vec(std::pow(u.dot(y), 2) * u); },
       [u](const Vec& y) { return Mat(2 * u.dot(y) * u * u.transpose()); }},
      {"non-affine: grad |y|^4 / 4", [](const Vec& y) { return Vec(y.squaredNorm() * y); },
       [](const Vec& y) { return Mat(y.squaredNorm() * Mat::Identity(2, 2) + 2 * y * y.transpose()); }},
      {"non-affine: grad (u.y)^4 / 4", [u](const Vec& y) { return Vec(std::pow(u.dot(y), 3) * u); },
       [u](const Vec& y) { return Mat(3 * std::pow(u.dot(y), 2) * u * u.transpose()); }},
  };
  const Mat X = draw_gaussian(s.ctx, n, m, S);
  // j(x; T) without the s-independent log rho(x).
  auto j = [&](const Vec& x, const Vec& T, const Mat& dT) {
    const Vec r = T - ms;
    return -std::log(dT.determinant()) + 0.5 * r.dot(Ssi * r) + (T - x).squaredNorm() / (2 * h);
  };
  s.md << "\n## The Gelbrich/JKO step maps a Gaussian to a Gaussian\n\n"
       << "rho = N(m, S), pi = N(m*, S*) with non-commuting S, S* (eigenbases 63° apart), h = " << fmt(h) << ", n = " << n
       << " draws of rho. T is the library's closed-form Bures JKO step; J(s) the JKO objective of T + s phi (KL by change of "
       << "variables). Stationarity J'(0) = 0 within " << fmt(z) << " standard errors in affine and non-affine gradient directions; "
       << "J(delta) + J(-delta) - 2 J(0) > 0 with common random numbers (delta small enough that T +- delta phi stays a monotone map on every draw).\n\n"
       << "| direction | J'(0) | SE | J(delta) - J(0) | J(-delta) - J(0) |\n|---|---|---|---|---|\n";
  Json rows = Json::array();
  const double lmin = Eigen::SelfAdjointEigenSolver<Mat>(A).eigenvalues().minCoeff();
  for (const Direction& dir : dirs) {
    // delta keeps grad T_s = A + s grad phi positive definite on every draw (T_s a gradient of a convex function).
    double dmax = 0;
    for (std::size_t i = 0; i < n; ++i) dmax = std::max(dmax, dir.dphi(X.row(Eigen::Index(i)).transpose() - m).norm());
    const double delta = std::min(0.05, 0.25 * lmin / std::max(dmax, 1e-300));
    std::vector<double> g(n), up(n), dn(n);
    for (std::size_t i = 0; i < n; ++i) {
      const Vec x = X.row(Eigen::Index(i)).transpose(), y = x - m;
      const Vec T = mp + A * y, ph = dir.phi(y);
      const Mat Ai = A.inverse(), dph = dir.dphi(y);
      // d/ds of j at s = 0: -tr(A^-1 grad phi) + <S*^-1 (T - m*) + (T - x) / h, phi>.
      g[i] = -(Ai * dph).trace() + (Ssi * (T - ms) + (T - x) / h).dot(ph);
      const double j0 = j(x, T, A);
      up[i] = j(x, T + delta * ph, A + delta * dph) - j0;
      dn[i] = j(x, T - delta * ph, A - delta * dph) - j0;
    }
    const MeanSe gd = mean_se(g), u1 = mean_se(up), d1 = mean_se(dn);
    s.checks.near("jko/stationary/" + dir.name, "the JKO step's T is stationary for KL + W2^2/(2h) along " + dir.name + " (J'(0) = 0)", gd.mean, 0,
                  z * gd.se, "pathwise derivative averaged over n draws of rho; tolerance 4 standard errors; fails if S+ or m+ is wrong "
                             "(affine directions) or a non-Gaussian law does better (non-affine directions)");
    s.checks.at_least("jko/minimum/" + dir.name, "J(delta) + J(-delta) - 2 J(0) > 0 along " + dir.name + " (a minimum, delta = " + fmt(delta, 2) + ")",
                      u1.mean + d1.mean, 0, 0, "common random numbers: the linear terms cancel exactly, the rest is delta^2 J''(0) > 0",
                      CheckKind::sanity);
    std::printf("jko %-30s J'(0) = %10.3e (SE %.2e), J(+d)-J(0) = %.3e, J(-d)-J(0) = %.3e\n", dir.name.c_str(), gd.mean, gd.se, u1.mean, d1.mean);
    s.md << "| " << dir.name << " | " << fmt(gd.mean, 3) << " | " << fmt(gd.se, 2) << " | " << fmt(u1.mean, 3) << " | " << fmt(d1.mean, 3) << " |\n";
    rows.push_back({{"direction", dir.name}, {"delta", delta}, {"derivative", gd.mean}, {"derivative_se", gd.se}, {"up", u1.mean}, {"down", d1.mean}});
  }
  s.result["jko_gaussian_step"] = {{"n", n}, {"h", h}, {"z", z}, {"directions", rows},
                                   {"next_cov", step.next.cov}, {"next_mean", step.next.mean}};
}

}  // namespace flowsampler::cli::reproduce::closures_detail
