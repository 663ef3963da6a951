// Two identities of the seed about fields that are not closures.
//
// Attention. v_alpha(x) = sum_j softmax_j(<Q x, K x_j>) V x_j over a frozen
// token measure alpha. (a) If V = Q^T K it is grad_x U_alpha with the
// log-partition U_alpha(x) = log sum_j exp(<Q x, K x_j>): the library's
// AttentionField at each token against a central finite difference of U.
// (b) "Iff": the Jacobian of v_alpha is V Cov_p W^T (W = Q^T K), symmetric
// for every context only when V is a multiple of W; measured by finite
// differences for V = Q^T K (symmetric), V = K^T Q and a generic V (not).
// (c) Not a Wasserstein gradient flow: were U_alpha = dF/dalpha + c(alpha)
// for a functional F, the mixed derivative K(a, b) = dU_alpha(x_a)/dw_b
// (w_b the mass of token b) would be symmetric up to g(b) - g(a), so every
// cyclic sum of K - K^T over three tokens would vanish. Finite differences in
// the weights; an interaction energy (a true gradient flow) is the control.
//
// Drifting. With the Gaussian kernel k_h, B_h[nu](x) = sum k (y - x) / sum k
// = h^2 grad log (k_h * nu)(x), so the drifting field is
// B_h[beta] - B_h[mu] = -h^2 grad log((k_h * mu) / (k_h * beta)): the
// Wasserstein descent velocity of the frozen functional h^2 int log phi dalpha
// (the seed's proposition). The library's DriftField ("drifting", self term
// kept) against a finite difference of the log-ratio by a slow loop.
// Finite-difference tolerances: central differences with step 1e-5 on O(1)
// functions, error ~ step^2 f''' + eps_machine / step ~ 1e-9; 1e-6 allowed.
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "closures.hpp"
#include "util.hpp"
#include "flowsampler/fields/attention.hpp"
#include "flowsampler/fields/drifts.hpp"

namespace flowsampler::cli::reproduce::closures_detail {

namespace {

constexpr double kStep = 1e-5, kFdTol = 1e-6;

// grad f at x by central differences.
Vec fd_grad(const std::function<double(const Vec&)>& f, const Vec& x) {
  Vec g(x.size());
  for (Eigen::Index k = 0; k < x.size(); ++k) {
    Vec a = x, b = x;
    a[k] += kStep, b[k] -= kStep;
    g[k] = (f(a) - f(b)) / (2 * kStep);
  }
  return g;
}

std::vector<double> row_major(const Mat& M) {
  std::vector<double> v;
  for (Eigen::Index i = 0; i < M.rows(); ++i)
    for (Eigen::Index j = 0; j < M.cols(); ++j) v.push_back(M(i, j));
  return v;
}

// log sum_j w_j exp(x^T W t_j) over the token rows t_j: the weighted log-partition.
double log_partition(const Mat& W, const Mat& tokens, const Vec& w, const Vec& x) {
  const Vec l = tokens * (W.transpose() * x);
  const double top = l.maxCoeff();
  return top + std::log((w.array() * (l.array() - top).exp()).sum());
}

// sum_j softmax_j(x^T W t_j) V t_j: the slow reference of the attention velocity.
Vec attention_velocity(const Mat& W, const Mat& V, const Mat& tokens, const Vec& x) {
  const Vec l = tokens * (W.transpose() * x);
  const Vec p = (l.array() - l.maxCoeff()).exp();
  return V * tokens.transpose() * p / p.sum();
}

// How well the rows of v match the gradients g(i): the regression coefficient
// of v on g (1 when v = g) and max_i |v_i - g_i| / max_i |g_i|.
struct GradientFit {
  double coefficient, max_relative_error;
};
GradientFit fit_to_gradient(const Mat& v, const std::function<Vec(Eigen::Index)>& g_at) {
  double dot = 0, norm2 = 0, max_err = 0, max_g = 0;
  for (Eigen::Index i = 0; i < v.rows(); ++i) {
    const Vec g = g_at(i), vi = v.row(i).transpose();
    dot += vi.dot(g), norm2 += g.squaredNorm();
    max_err = std::max(max_err, (vi - g).norm()), max_g = std::max(max_g, g.norm());
  }
  return {dot / norm2, max_err / max_g};
}

}  // namespace

void attention_claims(Section& s) {
  const std::size_t d = 3, r = 2, n = 12;
  Mat Q(r, d), K(r, d), G(d, d);
  Q << 0.8, -0.3, 0.5, 0.2, 0.9, -0.4;
  K << 0.6, 0.4, -0.7, -0.5, 0.3, 0.8;
  G << 0.4, -0.9, 0.3, 0.7, 0.2, -0.5, -0.1, 0.6, 0.8;
  const Mat W = Q.transpose() * K;
  const Mat tokens = draw_gaussian(s.ctx, n, Vec::Zero(3), Mat::Identity(3, 3));
  const Set z = device(s.ctx, tokens);
  s.md << "\n## Attention dynamics: a gradient field iff V = Q^T K, not a Wasserstein gradient flow\n\n"
       << n << " tokens in d = 3, Q, K in R^{2x3} fixed, W = Q^T K (not symmetric: ‖W - W^T‖_F = " << fmt((W - W.transpose()).norm(), 3)
       << "). Finite differences with step " << fmt(kStep) << ".\n\n";
  // (a) the library's field is grad U at every token, V = W.
  const fields::AttentionField<double> field(d, r, row_major(Q), row_major(K), row_major(W));
  const Mat v = host(field.evaluate(s.ctx, 0, z, {}).velocity);
  const Vec ones = Vec::Ones(Eigen::Index(n));
  const GradientFit fit = fit_to_gradient(v, [&](Eigen::Index i) {
    return fd_grad([&](const Vec& x) { return log_partition(W, tokens, ones, x); }, tokens.row(i).transpose());
  });
  s.checks.near("attention/gradient", "V = Q^T K: the attention velocity is grad_x log sum_j exp(<Q x, K x_j>) (regression coefficient of "
                                      "the library's v on the finite-difference gradient)",
                fit.coefficient, 1, kFdTol, "central differences, error ~1e-9; fails for any other scale or form of v (a factor 2 gives 2)");
  s.checks.at_most("attention/gradient-max", "V = Q^T K: max_i |v(x_i) - grad U(x_i)| / max |grad U|", fit.max_relative_error, 0, kFdTol,
                   "central differences, error ~1e-9");
  // (b) Jacobian symmetry by finite differences of the velocity, frozen context.
  auto asym = [&](const Mat& V) {
    double worst = 0;
    for (Eigen::Index i = 0; i < Eigen::Index(n); ++i) {
      Mat J(d, d);
      for (Eigen::Index k = 0; k < Eigen::Index(d); ++k) {
        Vec a = tokens.row(i).transpose(), b = a;
        a[k] += kStep, b[k] -= kStep;
        J.col(k) = (attention_velocity(W, V, tokens, a) - attention_velocity(W, V, tokens, b)) / (2 * kStep);
      }
      worst = std::max(worst, (J - J.transpose()).norm() / J.norm());
    }
    return worst;
  };
  const double a_grad = asym(W), a_transposed = asym(K.transpose() * Q), a_generic = asym(G);
  s.checks.at_most("attention/curl/V-QtK", "V = Q^T K: the Jacobian of v is symmetric (max over tokens of ‖J - J^T‖ / ‖J‖)", a_grad, 0, kFdTol,
                   "central differences, error ~1e-9");
  s.checks.at_least("attention/curl/V-KtQ", "V = K^T Q != Q^T K: the Jacobian is not symmetric (not a gradient field)", a_transposed, 0.05, 0,
                    "the Jacobian is V Cov_p W^T: asymmetric unless V is a multiple of W; 0.05 is 5e4 x the finite-difference error");
  s.checks.at_least("attention/curl/generic", "generic V: the Jacobian is not symmetric", a_generic, 0.05, 0,
                    "as above, for a V unrelated to Q and K");
  // (c) not a Wasserstein gradient flow: cyclic sums of the mixed derivative.
  auto mixed = [&](const std::function<double(const Vec&, const Vec&)>& U) {
    Mat Km(n, n);
    const Vec w0 = ones / double(n);
    for (Eigen::Index b = 0; b < Eigen::Index(n); ++b) {
      Vec wp = w0, wm = w0;
      wp[b] += kStep, wm[b] -= kStep;
      for (Eigen::Index a = 0; a < Eigen::Index(n); ++a) Km(a, b) = (U(wp, tokens.row(a).transpose()) - U(wm, tokens.row(a).transpose())) / (2 * kStep);
    }
    double worst = 0;
    const Mat Am = Km - Km.transpose();
    for (Eigen::Index a = 0; a < Eigen::Index(n); ++a)
      for (Eigen::Index b = a + 1; b < Eigen::Index(n); ++b)
        for (Eigen::Index c = b + 1; c < Eigen::Index(n); ++c) worst = std::max(worst, std::abs(Am(a, b) + Am(b, c) + Am(c, a)));
    return worst / Km.cwiseAbs().maxCoeff();
  };
  const double cyc_attention = mixed([&](const Vec& w, const Vec& x) { return log_partition(W, tokens, w, x); });
  const double cyc_interaction = mixed([&](const Vec& w, const Vec& x) {
    double u = 0;
    for (Eigen::Index j = 0; j < Eigen::Index(n); ++j) u += w[j] * std::exp(-0.5 * (x - tokens.row(j).transpose()).squaredNorm());
    return u;
  });
  s.checks.at_least("attention/not-wasserstein", "V = Q^T K: the log-partition is not a first variation (max cyclic sum of "
                                                 "dU(x_a)/dw_b - dU(x_b)/dw_a, relative)",
                    cyc_attention, 0.01, 0, "a first variation dF/dalpha + c(alpha) has zero cyclic sums; 0.01 is 1e4 x the "
                                           "finite-difference error");
  s.checks.at_most("attention/control-interaction", "control: an interaction energy's first variation has zero cyclic sums", cyc_interaction,
                   0, kFdTol, "a true Wasserstein gradient flow; central differences in the weights", CheckKind::sanity);
  std::printf("attention: grad coefficient %.12f, max err %.2e; Jacobian asymmetry V=QtK %.2e, V=KtQ %.3f, generic %.3f; cyclic %.3f "
              "(interaction %.2e)\n", fit.coefficient, fit.max_relative_error, a_grad, a_transposed, a_generic, cyc_attention, cyc_interaction);
  s.md << "| quantity | V = Q^T K | V = K^T Q | generic V | interaction energy |\n|---|---|---|---|---|\n"
       << "| Jacobian asymmetry max ‖J - J^T‖ / ‖J‖ | " << fmt(a_grad, 2) << " | " << fmt(a_transposed, 3) << " | " << fmt(a_generic, 3) << " | - |\n"
       << "| max cyclic sum of the mixed first variation (relative) | " << fmt(cyc_attention, 3) << " | | | " << fmt(cyc_interaction, 2) << " |\n"
       << "\nv = grad U (V = Q^T K): regression coefficient " << fmt(fit.coefficient, 12) << ", max relative error " << fmt(fit.max_relative_error, 2) << ".\n";
  s.result["attention"] = {{"tokens", n}, {"gradient_coefficient", fit.coefficient}, {"gradient_max_rel_error", fit.max_relative_error},
                           {"jacobian_asymmetry", {{"V=QtK", a_grad}, {"V=KtQ", a_transposed}, {"generic", a_generic}}},
                           {"cyclic_sum_attention", cyc_attention}, {"cyclic_sum_interaction", cyc_interaction}};
}

void drifting_identity(Section& s) {
  const std::size_t n = 200, m = 300;
  const double h = 0.7;
  const Mat Ca = plane_rotation(2, 0, 1, 0.5) * Vec((Vec(2) << 1.0, 0.3).finished()).asDiagonal() * plane_rotation(2, 0, 1, 0.5).transpose();
  const Mat mu = draw_gaussian(s.ctx, n, (Vec(2) << -1.0, 0.0).finished(), Ca);
  Mat beta(m, 2);
  beta.topRows(m / 2) = draw_gaussian(s.ctx, m / 2, (Vec(2) << 1.5, 1.0).finished(), 0.2 * Mat::Identity(2, 2));
  beta.bottomRows(m - m / 2) = draw_gaussian(s.ctx, m - m / 2, (Vec(2) << 1.0, -1.2).finished(), 0.4 * Mat::Identity(2, 2));
  const Set bs = device(s.ctx, beta);
  fields::DriftOptions opt;
  opt.kernel = {pairwise::Kernel::gaussian, h};
  opt.include_self = true;
  const Mat V = host(fields::DriftField<double>(s.ctx, fields::Drift::drifting, opt, &bs).evaluate(s.ctx, 0, device(s.ctx, mu), {}).velocity);
  auto log_conv = [h](const Mat& P, const Vec& x) {
    const Vec l = -(P.rowwise() - x.transpose()).rowwise().squaredNorm() / (2 * h * h);
    const double top = l.maxCoeff();
    return top + std::log((l.array() - top).exp().sum());
  };
  const GradientFit fit = fit_to_gradient(V, [&](Eigen::Index i) -> Vec {
    return -h * h * fd_grad([&](const Vec& x) { return log_conv(mu, x) - log_conv(beta, x); }, mu.row(i).transpose());
  });
  s.checks.near("drifting/identity", "B_h[beta] - B_h[mu] = -h^2 grad log((k_h * mu) / (k_h * beta)) (regression coefficient of the "
                                     "library's drifting field on the finite-difference gradient)",
                fit.coefficient, 1, kFdTol, "central differences of a slow loop, error ~1e-9; a factor 2 in either side gives 2 or 0.5");
  s.checks.at_most("drifting/identity-max", "max_i |V(x_i) - (-h^2 grad log ratio)(x_i)| / max |grad|", fit.max_relative_error, 0, kFdTol,
                   "central differences, error ~1e-9");
  std::printf("drifting identity: coefficient %.12f, max rel err %.2e\n", fit.coefficient, fit.max_relative_error);
  s.md << "\n## The drifting field is -h^2 grad log(k*mu / k*beta)\n\n" << n << " particles of mu, " << m
       << " data points (two Gaussian blobs), Gaussian kernel h = " << fmt(h) << ", self term kept (the identity holds for the "
       << "empirical mu; the library's default leaves j = i out, which is B_h of mu without the particle itself). Regression "
       << "coefficient " << fmt(fit.coefficient, 12) << ", max relative error " << fmt(fit.max_relative_error, 2) << ".\n";
  s.result["drifting_identity"] = {{"n", n}, {"m", m}, {"bandwidth", h}, {"coefficient", fit.coefficient}, {"max_rel_error", fit.max_relative_error}};
}

}  // namespace flowsampler::cli::reproduce::closures_detail
