#include "flowsampler/fields/gmm_field.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "cloud/apply_matrix.hpp"
#include "core/launch.hpp"
#include "flowsampler/core/error.hpp"
#include "pairwise/engine.hpp"
#include "targets/gmm_epilogue.hpp"
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

// The noise's whitening on the context: w = W^-1 z into the kernels'
// coordinates, and back (scores by W^-1, points and velocities by W). Nothing
// is allocated or moved for the identity noise.
template <class Real>
class Whitening {
 public:
  Whitening(const Context& ctx, bool identity, const std::vector<double>& W, const std::vector<double>& Winv)
      : ctx_(ctx), identity_(identity) {
    if (identity) return;
    W_ = Buffer<double>(ctx, W.size()), Winv_ = Buffer<double>(ctx, Winv.size());
    W_.copy_from_host(W.data());
    Winv_.copy_from_host(Winv.data());
  }
  /// W^-1 z, or z itself (held in *keep).
  const ParticleSet<Real>& whiten(const ParticleSet<Real>& z, ParticleSet<Real>* keep) const {
    if (identity_) return z;
    *keep = apply(Winv_, z);
    return *keep;
  }
  ParticleSet<Real> point_back(ParticleSet<Real>& v) const { return identity_ ? std::move(v) : apply(W_, v); }
  ParticleSet<Real> score_back(ParticleSet<Real>& s) const { return identity_ ? std::move(s) : apply(Winv_, s); }

 private:
  ParticleSet<Real> apply(const Buffer<double>& M, const ParticleSet<Real>& in) const {
    ParticleSet<Real> out(ctx_, in.n(), in.d());
    detail::for_each(ctx_, out.size(),
                     kernels::ApplyMatrix<Real>{out.data(), in.data(), M.data(), in.n(), static_cast<int>(in.d())});
    return out;
  }
  const Context& ctx_;
  bool identity_;
  Buffer<double> W_, Winv_;
};

// The velocity's coefficients at p: v = cz w + cm (D or G), in the denoiser
// form where |a| < b (a -> 0 is harmless there), in the score form elsewhere.
struct VelocityForm {
  bool denoiser;
  double cz, cm;
  explicit VelocityForm(const paths::PathPoint& p)
      : denoiser(std::fabs(p.a) < p.b),
        cz(denoiser ? p.db / p.b : p.da / p.a),
        cm(denoiser ? p.da - p.db * p.a / p.b : (p.da / p.a) * p.b * p.b - p.b_db) {}
};

// One pass of the pairwise engine's softmax with the op that sums the means
// `values` needs; out has the op's payload columns per particle.
template <class Real, kernels::GmmValues V>
void softmax_pass(const Context& ctx, bool full, const VelocityForm& f, const ParticleSet<Real>& wz,
                  const ParticleSet<Real>& Y, const ParticleSet<Real>& PY, Real* out, Real* lse) {
  if (wz.n() == 0) return;
  auto run = [&](auto full_c) {
    kernels::GmmOp<Real, decltype(full_c)::value, V> op{};
    op.cz = f.cz, op.cm = f.cm;
    pairwise::detail::run<kernels::Reduction::softmax>(ctx, op, wz, Y, PY.data(), out, lse);
  };
  if (full) run(std::true_type{});
  else run(std::false_type{});
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
  // The components at this path point: K rows, uploaded (a few hundred bytes).
  std::vector<Real> yv, pv;
  component_table<Real>(white_, p, full, yv, pv);
  const ParticleSet<Real> Y = ParticleSet<Real>::from_column_major(ctx, yv.data(), K, d);
  const ParticleSet<Real> PY = ParticleSet<Real>::from_column_major(ctx, pv.data(), K, pv.size() / K);
  const Whitening<Real> white(ctx, identity_noise_, W_, Winv_);
  ParticleSet<Real> whitened;
  const ParticleSet<Real>& wz = white.whiten(z, &whitened);
  const VelocityForm form(p);
  using V = kernels::GmmValues;
  FieldValues<Real> out;
  if (what.velocity && !what.score && !what.denoiser && !what.divergence && !what.log_density) {
    // The integrators' case: the velocity finished in the engine's pass.
    ParticleSet<Real> vw(ctx, n, d);
    if (form.denoiser) softmax_pass<Real, V::velocity_denoiser>(ctx, full, form, wz, Y, PY, vw.data(), nullptr);
    else softmax_pass<Real, V::velocity_score>(ctx, full, form, wz, Y, PY, vw.data(), nullptr);
    out.velocity = white.point_back(vw);
    return out;
  }
  // Sum only the means this request needs: G (score form of v, the score),
  // D (denoiser form, the denoiser), all of them for divergences.
  const bool need_g = what.score || (what.velocity && !form.denoiser);
  const bool need_d = what.denoiser || (what.velocity && form.denoiser);
  const V values = what.divergence || (need_g && need_d) ? V::all : need_g ? V::score : V::denoiser;
  ParticleSet<Real> acc(ctx, n, values == V::all ? 2 * d + 2 : d), lse(ctx, what.log_density ? n : 0, 1);
  Real* lse_out = what.log_density ? lse.data() : nullptr;
  if (values == V::all) softmax_pass<Real, V::all>(ctx, full, form, wz, Y, PY, acc.data(), lse_out);
  else if (values == V::score) softmax_pass<Real, V::score>(ctx, full, form, wz, Y, PY, acc.data(), lse_out);
  else softmax_pass<Real, V::denoiser>(ctx, full, form, wz, Y, PY, acc.data(), lse_out);

  // Per particle, in whitened coordinates: the fields from the softmax means.
  auto wanted = [&](bool w, std::size_t cols) { return ParticleSet<Real>(ctx, w ? n : 0, cols); };
  ParticleSet<Real> logp = wanted(what.log_density, 1), div = wanted(what.divergence, 1);
  ParticleSet<Real> sw = wanted(what.score, d), Dw = wanted(what.denoiser, d), vw = wanted(what.velocity, d);
  const int di = static_cast<int>(d);
  kernels::GmmEpilogue<Real> e{};
  e.A = acc.data(), e.lse = lse.data(), e.w = wz.data(), e.n = n, e.d = di;
  e.g_col = values == V::denoiser ? -1 : 0;
  e.d_col = values == V::all ? di : values == V::denoiser ? 0 : -1;
  e.denoiser_form = form.denoiser;
  e.cz = form.cz, e.cm = form.cm;
  e.a = p.a, e.b = p.b, e.da = p.da, e.db = p.db, e.b_db = p.b_db;
  e.log_norm = 0.5 * double(d) * 1.8378770664093453 + log_det_W_;  // (d/2) log 2 pi + log det W
  e.logp = what.log_density ? logp.data() : nullptr;
  e.div = what.divergence ? div.data() : nullptr;
  e.score = what.score ? sw.data() : nullptr;
  e.den = what.denoiser ? Dw.data() : nullptr;
  e.vel = what.velocity ? vw.data() : nullptr;
  detail::for_each(ctx, n, e);

  // Back to z coordinates: s_z = W^-1 s_w, D_z = W D_w, v_z = W v_w.
  if (what.log_density) out.log_density = std::move(logp);
  if (what.divergence) out.divergence = std::move(div);
  if (what.score) out.score = white.score_back(sw);
  if (what.denoiser) out.denoiser = white.point_back(Dw);
  if (what.velocity) out.velocity = white.point_back(vw);
  return out;
}

template FieldValues<float> GmmField::evaluate<float>(const Context&, const paths::PathPoint&, const ParticleSet<float>&,
                                                      const FieldRequest&) const;
template FieldValues<double> GmmField::evaluate<double>(const Context&, const paths::PathPoint&,
                                                        const ParticleSet<double>&, const FieldRequest&) const;

}  // namespace flowsampler::fields
