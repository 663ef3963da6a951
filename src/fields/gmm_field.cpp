#include "flowsampler/fields/gmm_field.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "flowsampler/core/error.hpp"
#include "pairwise/engine.hpp"
#include "targets/gmm_ops.hpp"

namespace flowsampler::fields {

GmmField::GmmField(const targets::GaussianMixture& target, const targets::Noise& noise)
    : white_(targets::whiten(target, noise)), noise_(noise) {
  const std::size_t d = target.dim();
  (void)target.weights();  // validates: not empty, not all zero
  FLOWSAMPLER_EXPECTS(!white_.has_full() || d <= static_cast<std::size_t>(kernels::gmm_full_max_dim),
                      "GmmField: full covariances are supported up to d = " << kernels::gmm_full_max_dim << ", got d = " << d);
  identity_noise_ = noise.is_isotropic() && noise.sigma2() == 1.0;
  W_ = noise.sqrt_matrix(d);
  Winv_ = noise.inv_sqrt_matrix(d);
  log_det_W_ = noise.log_det_sqrt(d);
}

namespace {

// y rows (a m_k) and the payload rows of every component at path point p,
// column-major as the engine takes them (see kernels/targets/gmm_ops.hpp).
template <class Real>
void component_table(const targets::GaussianMixture& g, const paths::PathPoint& p, bool full, std::vector<Real>& y,
                     std::vector<Real>& payload) {
  const std::size_t K = g.size(), d = g.dim();
  const int di = static_cast<int>(d);
  const std::size_t q = static_cast<std::size_t>(full ? kernels::GmmOp<Real, true>::payload_dim(di)
                                                      : kernels::GmmOp<Real, false>::payload_dim(di));
  const std::vector<double> w = g.weights();
  y.assign(K * d, Real(0));
  payload.assign(K * q, Real(0));
  auto P = [&](std::size_t k, std::size_t col) -> Real& { return payload[col * K + k]; };
  for (std::size_t k = 0; k < K; ++k) {
    const std::vector<double>& m = g.mean(k);
    const std::vector<double>& lam = g.eigenvalues(k);
    double logdet = 0, tr_sc = 0, tr_c = 0;
    for (std::size_t j = 0; j < d; ++j) {
      const double c = p.a * p.a * lam[j] + p.b * p.b;
      FLOWSAMPLER_EXPECTS(c > 0, "exact field at a = " << p.a << ", b = " << p.b
                                                       << ": the noised law is singular (b = 0 with Dirac atoms); "
                                                          "stop early, at t <= 1 - delta");
      logdet += std::log(c);
      tr_sc += lam[j] / c;
      tr_c += 1 / c;
      y[j * K + k] = static_cast<Real>(p.a * m[j]);
      P(k, 1 + j) = static_cast<Real>(m[j]);
      P(k, 1 + d + j) = static_cast<Real>(1 / c);
      P(k, 1 + 2 * d + j) = static_cast<Real>(p.a * lam[j] / c);
    }
    P(k, 0) = static_cast<Real>((w[k] > 0 ? std::log(w[k]) : -INFINITY) - 0.5 * logdet);
    P(k, 3 * d + 1) = static_cast<Real>(p.a * tr_sc);
    P(k, 3 * d + 2) = static_cast<Real>(-tr_c);
    if (full) {
      const std::vector<double> U = g.eigenvectors(k);
      for (std::size_t e = 0; e < d * d; ++e) P(k, 3 * d + 3 + e) = static_cast<Real>(U[e]);
      for (std::size_t r = 0; r < d; ++r) {
        double mu = 0;
        for (std::size_t j = 0; j < d; ++j) mu += U[r * d + j] * m[j];
        P(k, 3 * d + 3 + d * d + r) = static_cast<Real>(mu);
      }
    }
  }
}

// y = M x for a d x d column-major M, per particle (column-major sets).
template <class Real>
void apply(const std::vector<double>& M, const std::vector<Real>& x, std::vector<Real>& y, std::size_t n, std::size_t d) {
  y.assign(n * d, Real(0));
  for (std::size_t j = 0; j < d; ++j)
    for (std::size_t r = 0; r < d; ++r) {
      const double m = M[r * d + j];
      if (m == 0) continue;
      for (std::size_t i = 0; i < n; ++i) y[j * n + i] += static_cast<Real>(m * static_cast<double>(x[r * n + i]));
    }
}

}  // namespace

template <class Real>
FieldValues<Real> GmmField::evaluate(const Context& ctx, const paths::PathPoint& p, const ParticleSet<Real>& z,
                                     const FieldRequest& what) const {
  const std::size_t d = white_.dim(), n = z.n(), K = white_.size();
  FLOWSAMPLER_EXPECTS(z.d() == d, "GmmField: particles have d = " << z.d() << ", the target d = " << d);
  FLOWSAMPLER_EXPECTS(z.belongs_to(ctx), "GmmField: particles must live in the context's memory");
  FLOWSAMPLER_EXPECTS(std::isfinite(p.a) && std::isfinite(p.b) && std::isfinite(p.da) && std::isfinite(p.b_db) && p.b >= 0,
                      "GmmField: path point a = " << p.a << ", b = " << p.b << ", a' = " << p.da << ", b b' = " << p.b_db
                                                  << " (need finite values, b >= 0; set b_db on user path points)");
  FLOWSAMPLER_EXPECTS(std::fabs(p.a) < p.b || p.a != 0, "GmmField: a = b = 0 at this path point");
  const bool full = white_.has_full();
  std::vector<Real> yv, pv;
  component_table<Real>(white_, p, full, yv, pv);
  const ParticleSet<Real> Y = ParticleSet<Real>::from_column_major(ctx, yv.data(), K, d);
  const ParticleSet<Real> PY = ParticleSet<Real>::from_column_major(ctx, pv.data(), K, pv.size() / K);

  // Whitened particles w = W^-1 z (z itself for the identity noise).
  const bool host = z.memory() == Memory::host;
  std::vector<Real> zh, wh;
  if (!host) zh = z.to_host();
  const Real* zp = host ? z.data() : zh.data();
  ParticleSet<Real> Wp;
  if (!identity_noise_) {
    apply(Winv_, std::vector<Real>(zp, zp + n * d), wh, n, d);
    Wp = ParticleSet<Real>::from_column_major(ctx, wh.data(), n, d);
  }
  const ParticleSet<Real>& wz = identity_noise_ ? z : Wp;
  const Real* wp = identity_noise_ ? zp : wh.data();

  // Sum only the means this request needs: G (score form of v, the score),
  // D (denoiser form, the denoiser), all of them for divergences.
  const bool denoiser_form = std::fabs(p.a) < p.b;
  const bool need_g = what.score || (what.velocity && !denoiser_form);
  const bool need_d = what.denoiser || (what.velocity && denoiser_form);
  using kernels::GmmValues;
  const GmmValues values = what.divergence || (need_g && need_d) ? GmmValues::all
                           : need_g                              ? GmmValues::score
                                                                 : GmmValues::denoiser;
  const std::size_t pdim = values == GmmValues::all ? 2 * d + 2 : d;
  ParticleSet<Real> acc(ctx, n, pdim), lse(ctx, n, 1);
  if (n > 0) {
    auto run = [&](auto full_c, auto values_c) {
      const kernels::GmmOp<Real, decltype(full_c)::value, decltype(values_c)::value> op{};
      pairwise::detail::run<kernels::Reduction::softmax>(ctx, op, wz, Y, PY.data(), acc.data(),
                                                         what.log_density ? lse.data() : nullptr);
    };
    auto with_values = [&](auto full_c) {
      using V = GmmValues;
      if (values == V::all) run(full_c, std::integral_constant<V, V::all>{});
      else if (values == V::score) run(full_c, std::integral_constant<V, V::score>{});
      else run(full_c, std::integral_constant<V, V::denoiser>{});
    };
    if (full) with_values(std::true_type{});
    else with_values(std::false_type{});
    ctx.synchronize();
  }
  std::vector<Real> Ah, Lh;
  if (!host) Ah = acc.to_host(), Lh = lse.to_host();
  const Real* A = host ? acc.data() : Ah.data();
  const Real* L = host ? lse.data() : Lh.data();

  // Per particle: the fields in whitened coordinates, from the softmax means.
  const double log2pi = 1.8378770664093453;
  const double dd = static_cast<double>(d);
  // Host buffers written in place (uninitialized: every entry is set below).
  auto host_set = [&](bool wanted, std::size_t cols) {
    return wanted ? ParticleSet<Real>(n, cols, Memory::host) : ParticleSet<Real>(0, cols, Memory::host);
  };
  ParticleSet<Real> logp_s = host_set(what.log_density, 1), div_s = host_set(what.divergence, 1);
  ParticleSet<Real> sw_s = host_set(what.score, d), Dw_s = host_set(what.denoiser, d), vw_s = host_set(what.velocity, d);
  Real *logp = logp_s.data(), *div = div_s.data(), *sw = sw_s.data(), *Dw = Dw_s.data(), *vw = vw_s.data();
  // Column sweeps (particles innermost) so that each loop vectorizes; the dot
  // products G.D and |G|^2 that the divergences subtract are taken in double.
  const long long nn = static_cast<long long>(n);
  const int threads = ctx.threads();
  const bool par = n > 4096;
  std::vector<double> gd(what.divergence ? n : 0, 0.0), gg(what.divergence ? n : 0, 0.0);
  const double cz = denoiser_form ? p.db / p.b : p.da / p.a;  // coefficient of w in v
  const double cd = denoiser_form ? p.da - p.db * p.a / p.b : 0.0;  // of D (denoiser form)
  const double cs = denoiser_form ? 0.0 : (p.da / p.a) * p.b * p.b - p.b_db;  // of G (score form)
  // One simple loop per output and column, so that each vectorizes (a loop
  // testing the request per element does not).
  for (std::size_t j = 0; j < d; ++j) {
    // Columns of the means: [G, D, a1, a2], or G alone, or D alone.
    const Real* Gj = A + j * n;
    const Real* Dj = A + ((values == GmmValues::all ? d : 0) + j) * n;
    const Real* wj = wp + j * n;
    if (what.divergence) {
#pragma omp parallel for simd num_threads(threads) schedule(static) if (par)
      for (long long i = 0; i < nn; ++i) {
        gd[i] += static_cast<double>(Gj[i]) * static_cast<double>(Dj[i]);
        gg[i] += static_cast<double>(Gj[i]) * static_cast<double>(Gj[i]);
      }
    }
    if (what.score) std::copy(Gj, Gj + n, sw + j * n);
    if (what.denoiser) std::copy(Dj, Dj + n, Dw + j * n);
    if (what.velocity) {
      // v = cz w + cd D (denoiser form) or cz w + cs G (score form), in double:
      // near the ends the two terms nearly cancel.
      const Real* Mj = denoiser_form ? Dj : Gj;
      const double cm = denoiser_form ? cd : cs;
      Real* vj = vw + j * n;
#pragma omp parallel for simd num_threads(threads) schedule(static) if (par)
      for (long long i = 0; i < nn; ++i)
        vj[i] = static_cast<Real>(cz * static_cast<double>(wj[i]) + cm * static_cast<double>(Mj[i]));
    }
  }
  const double log_norm = 0.5 * dd * log2pi + log_det_W_;
  const Real* A1 = A + 2 * d * n;
  const Real* A2 = A + (2 * d + 1) * n;
#pragma omp parallel for simd num_threads(threads) schedule(static) if (par)
  for (long long i = 0; i < nn; ++i) {
    if (what.log_density) logp[i] = static_cast<Real>(static_cast<double>(L[i]) - log_norm);
    if (what.divergence) {
      const double divD = static_cast<double>(A1[i]) - gd[i];
      const double divs = static_cast<double>(A2[i]) - gg[i];
      div[i] = static_cast<Real>(denoiser_form ? p.da * divD + p.db * (dd - p.a * divD) / p.b
                                               : (p.da / p.a) * dd + ((p.da / p.a) * p.b * p.b - p.b_db) * divs);
    }
  }

  // Back to z coordinates: s_z = W^-1 s_w, D_z = W D_w, v_z = W v_w.
  FieldValues<Real> out;
  auto to_set = [&](ParticleSet<Real>& h, const std::vector<double>* M, std::size_t cols) {
    if (M && !identity_noise_) {
      std::vector<Real> t;
      apply(*M, std::vector<Real>(h.data(), h.data() + n * cols), t, n, cols);
      return ParticleSet<Real>::from_column_major(ctx, t.data(), n, cols);
    }
    return host ? std::move(h) : h.copy(ctx);
  };
  if (what.log_density) out.log_density = to_set(logp_s, nullptr, 1);
  if (what.divergence) out.divergence = to_set(div_s, nullptr, 1);
  if (what.score) out.score = to_set(sw_s, &Winv_, d);
  if (what.denoiser) out.denoiser = to_set(Dw_s, &W_, d);
  if (what.velocity) out.velocity = to_set(vw_s, &W_, d);
  return out;
}

template FieldValues<float> GmmField::evaluate<float>(const Context&, const paths::PathPoint&, const ParticleSet<float>&,
                                                      const FieldRequest&) const;
template FieldValues<double> GmmField::evaluate<double>(const Context&, const paths::PathPoint&,
                                                        const ParticleSet<double>&, const FieldRequest&) const;

}  // namespace flowsampler::fields
