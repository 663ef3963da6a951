#include "flowsampler/targets/gaussian_mixture.hpp"

#include "core/launch.hpp"
#include "targets/gmm_draw.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>

#include "flowsampler/core/error.hpp"
#include "flowsampler/core/random.hpp"
#include "random/philox.hpp"

namespace flowsampler::targets {
namespace {

using Matrix = Eigen::MatrixXd;

// Symmetric eigen-decomposition of a row-major d x d matrix with the checks a
// user needs to find the bad entry: `what` names it.
Eigen::SelfAdjointEigenSolver<Matrix> factor_spd(const std::vector<double>& c, std::size_t d, const std::string& what) {
  Matrix S(d, d);
  double scale = 0;
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t j = 0; j < d; ++j) {
      S(i, j) = c[i * d + j];
      FLOWSAMPLER_EXPECTS(std::isfinite(S(i, j)), what << ": entry (" << i << ", " << j << ") is not finite");
      scale = std::max(scale, std::fabs(S(i, j)));
    }
  for (std::size_t i = 0; i < d; ++i)
    for (std::size_t j = 0; j < i; ++j)
      FLOWSAMPLER_EXPECTS(std::fabs(S(i, j) - S(j, i)) <= 1e-12 * scale,
                          what << ": not symmetric, (" << i << ", " << j << ") = " << S(i, j) << " but (" << j << ", "
                               << i << ") = " << S(j, i));
  Eigen::SelfAdjointEigenSolver<Matrix> eig(S);
  FLOWSAMPLER_EXPECTS(eig.info() == Eigen::Success, what << ": eigen-decomposition failed");
  const double smallest = eig.eigenvalues().minCoeff();
  FLOWSAMPLER_EXPECTS(smallest > 1e-14 * std::max(scale, 1e-300),
                      what << ": not positive definite (smallest eigenvalue " << smallest << ")");
  return eig;
}

}  // namespace

GaussianMixture::GaussianMixture(std::size_t dim) : d_(dim) {
  FLOWSAMPLER_EXPECTS(dim >= 1, "GaussianMixture: dimension must be >= 1, got " << dim);
}

GaussianMixture& GaussianMixture::add(double weight, const std::vector<double>& mean,
                                      const std::vector<double>& cov) {
  const std::size_t k = comps_.size();
  FLOWSAMPLER_EXPECTS(std::isfinite(weight) && weight >= 0,
                      "component " << k << ": weight must be finite and >= 0, got " << weight);
  FLOWSAMPLER_EXPECTS(mean.size() == d_, "component " << k << ": mean has " << mean.size() << " entries, expected d = " << d_);
  for (std::size_t j = 0; j < d_; ++j)
    FLOWSAMPLER_EXPECTS(std::isfinite(mean[j]), "component " << k << ": mean[" << j << "] is not finite");
  Component c{weight, mean, Covariance::isotropic, {}, {}};
  const std::string what = "component " + std::to_string(k) + " covariance";
  if (cov.size() == 1) {
    FLOWSAMPLER_EXPECTS(std::isfinite(cov[0]) && cov[0] > 0, what << ": isotropic variance must be > 0, got " << cov[0]);
    c.lambda.assign(d_, cov[0]);
  } else if (cov.size() == d_ && d_ > 1) {
    c.kind = Covariance::diagonal;
    for (std::size_t j = 0; j < d_; ++j)
      FLOWSAMPLER_EXPECTS(std::isfinite(cov[j]) && cov[j] > 0, what << ": diagonal entry " << j << " must be > 0, got " << cov[j]);
    c.lambda = cov;
  } else if (cov.size() == d_ * d_) {
    c.kind = Covariance::full;
    const auto eig = factor_spd(cov, d_, what);
    c.lambda.assign(eig.eigenvalues().data(), eig.eigenvalues().data() + d_);
    c.U.assign(eig.eigenvectors().data(), eig.eigenvectors().data() + d_ * d_);
  } else {
    FLOWSAMPLER_EXPECTS(false, what << ": expected 1 (isotropic), " << d_ << " (diagonal) or " << d_ * d_
                                    << " (full) numbers, got " << cov.size());
  }
  comps_.push_back(std::move(c));
  return *this;
}

GaussianMixture GaussianMixture::empirical(const std::vector<double>& rows, std::size_t n, std::size_t d) {
  FLOWSAMPLER_EXPECTS(n >= 1 && rows.size() == n * d, "empirical target: expected n x d = " << n << " x " << d
                                                                                          << " values, got " << rows.size());
  GaussianMixture g(d);
  g.atoms_ = true;
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<double> m(rows.begin() + static_cast<long>(i * d), rows.begin() + static_cast<long>((i + 1) * d));
    for (std::size_t j = 0; j < d; ++j)
      FLOWSAMPLER_EXPECTS(std::isfinite(m[j]), "empirical target: atom " << i << ", coordinate " << j << " is not finite");
    g.comps_.push_back(Component{1.0, std::move(m), Covariance::isotropic, std::vector<double>(d, 0.0), {}});
  }
  return g;
}

bool GaussianMixture::has_full() const {
  for (const auto& c : comps_)
    if (c.kind == Covariance::full) return true;
  return false;
}

std::vector<double> GaussianMixture::weights() const {
  FLOWSAMPLER_EXPECTS(!comps_.empty(), "GaussianMixture: no components");
  // Scaled by the largest weight first: [1e308, 1e308] sums to inf, not to 0 weights.
  double top = 0;
  for (const auto& c : comps_) top = std::max(top, c.weight);
  FLOWSAMPLER_EXPECTS(top > 0, "GaussianMixture: weights must not all be zero");
  double total = 0;
  for (const auto& c : comps_) total += c.weight / top;
  std::vector<double> w;
  for (const auto& c : comps_) w.push_back(c.weight / top / total);
  return w;
}

GaussianMixture GaussianMixture::translated(const std::vector<double>& shift) const {
  FLOWSAMPLER_EXPECTS(shift.size() == d_, "GaussianMixture::translated: expected " << d_ << " values, got " << shift.size());
  GaussianMixture out = *this;
  for (Component& c : out.comps_)
    for (std::size_t j = 0; j < d_; ++j) {
      c.mean[j] += shift[j];
      FLOWSAMPLER_EXPECTS(std::isfinite(c.mean[j]), "GaussianMixture::translated: a mean left the double range");
    }
  return out;
}

std::vector<double> GaussianMixture::eigenvectors(std::size_t k) const {
  const Component& c = comps_.at(k);
  if (c.kind == Covariance::full) return c.U;
  std::vector<double> I(d_ * d_, 0.0);
  for (std::size_t j = 0; j < d_; ++j) I[j * d_ + j] = 1;
  return I;
}

std::vector<double> GaussianMixture::covariance(std::size_t k) const {
  const std::vector<double> U = eigenvectors(k);
  const std::vector<double>& l = eigenvalues(k);
  std::vector<double> S(d_ * d_, 0.0);
  for (std::size_t i = 0; i < d_; ++i)
    for (std::size_t j = 0; j < d_; ++j)
      for (std::size_t r = 0; r < d_; ++r) S[i * d_ + j] += U[r * d_ + i] * l[r] * U[r * d_ + j];
  return S;
}

template <class Real>
ParticleSet<Real> GaussianMixture::sample(Context& ctx, std::size_t n, std::size_t first_row) const {
  const std::vector<double> w = weights();
  const std::size_t K = comps_.size(), d = d_;
  std::vector<double> cdf(K);
  double total = 0;
  for (std::size_t k = 0; k < K; ++k) cdf[k] = total += w[k];
  // The component table the draw kernel reads (kernels/targets/gmm_draw.hpp):
  // a few numbers per component, uploaded once; the draws happen on the device.
  const bool any_full = has_full();
  const std::size_t stride = 1 + 2 * d + (any_full ? d * d : 0);
  std::vector<double> table(K * stride, 0.0);
  for (std::size_t k = 0; k < K; ++k) {
    const Component& c = comps_[k];
    double* row = table.data() + k * stride;
    row[0] = c.kind == Covariance::full ? 1.0 : 0.0;
    for (std::size_t j = 0; j < d; ++j) row[1 + j] = c.mean[j], row[1 + d + j] = std::sqrt(c.lambda[j]);
    if (c.kind == Covariance::full) std::copy(c.U.begin(), c.U.end(), row + 1 + 2 * d);
  }
  const std::uint32_t draw_k = ctx.next_draw(), draw_x = ctx.next_draw();
  Buffer<double> cdf_dev(ctx, K), table_dev(ctx, table.size());
  cdf_dev.copy_from_host(cdf.data());
  table_dev.copy_from_host(table.data());
  ParticleSet<Real> out(ctx, n, d);
  out.set_first_row(first_row);
  detail::for_each(ctx, n * d,
                   kernels::GmmDraw<Real>{out.data(), n, static_cast<int>(d), static_cast<std::uint32_t>(K), cdf_dev.data(),
                                          table_dev.data(), stride, total, ctx.seed(), draw_k, draw_x, first_row});
  return out;
}

template ParticleSet<float> GaussianMixture::sample<float>(Context&, std::size_t, std::size_t) const;
template ParticleSet<double> GaussianMixture::sample<double>(Context&, std::size_t, std::size_t) const;

// ---- noise ----

Noise Noise::isotropic(double sigma2) {
  FLOWSAMPLER_EXPECTS(std::isfinite(sigma2) && sigma2 > 0, "noise: variance sigma^2 must be > 0, got " << sigma2);
  Noise n;
  n.sigma2_ = sigma2;
  return n;
}

Noise Noise::diagonal(const std::vector<double>& v) {
  std::vector<double> full(v.size() * v.size(), 0.0);
  for (std::size_t j = 0; j < v.size(); ++j) {
    FLOWSAMPLER_EXPECTS(std::isfinite(v[j]) && v[j] > 0, "noise: diagonal variance " << j << " must be > 0, got " << v[j]);
    full[j * v.size() + j] = v[j];
  }
  return Noise::full(full, v.size());
}

Noise Noise::full(const std::vector<double>& cov, std::size_t d) {
  FLOWSAMPLER_EXPECTS(cov.size() == d * d, "noise: expected " << d * d << " covariance entries, got " << cov.size());
  const auto eig = factor_spd(cov, d, "noise covariance");
  const Eigen::VectorXd s = eig.eigenvalues().cwiseSqrt();
  const Matrix W = eig.eigenvectors() * s.asDiagonal() * eig.eigenvectors().transpose();
  const Matrix Winv = eig.eigenvectors() * s.cwiseInverse().asDiagonal() * eig.eigenvectors().transpose();
  Noise n;
  n.iso_ = false;
  n.d_ = d;
  n.W_.assign(W.data(), W.data() + d * d);
  n.Winv_.assign(Winv.data(), Winv.data() + d * d);
  return n;
}

Noise Noise::parse(const std::vector<double>& values, std::size_t d) {
  if (values.size() == 1) return isotropic(values[0]);
  if (values.size() == d) return diagonal(values);
  if (values.size() == d * d) return full(values, d);
  FLOWSAMPLER_EXPECTS(false, "noise covariance: expected 1, " << d << " or " << d * d << " numbers, got " << values.size());
}

std::vector<double> Noise::sqrt_matrix(std::size_t d) const {
  if (!iso_) {
    FLOWSAMPLER_EXPECTS(d == d_, "noise covariance is " << d_ << " x " << d_ << " but the target has d = " << d);
    return W_;
  }
  std::vector<double> W(d * d, 0.0);
  for (std::size_t j = 0; j < d; ++j) W[j * d + j] = std::sqrt(sigma2_);
  return W;
}

std::vector<double> Noise::inv_sqrt_matrix(std::size_t d) const {
  if (!iso_) {
    FLOWSAMPLER_EXPECTS(d == d_, "noise covariance is " << d_ << " x " << d_ << " but the target has d = " << d);
    return Winv_;
  }
  std::vector<double> W(d * d, 0.0);
  for (std::size_t j = 0; j < d; ++j) W[j * d + j] = 1 / std::sqrt(sigma2_);
  return W;
}

double Noise::log_det_sqrt(std::size_t d) const {
  if (iso_) return 0.5 * static_cast<double>(d) * std::log(sigma2_);
  const Eigen::Map<const Matrix> W(W_.data(), static_cast<long>(d_), static_cast<long>(d_));
  return std::log(W.determinant());
}

GaussianMixture noised(const GaussianMixture& target, const Noise& noise, double a, double b) {
  const std::size_t d = target.dim();
  FLOWSAMPLER_EXPECTS(std::isfinite(a) && std::isfinite(b) && b >= 0, "noised law: need finite a and b >= 0, got a = " << a << ", b = " << b);
  const std::vector<double> w = target.weights();
  if (b == 0 && target.has_atoms()) {
    FLOWSAMPLER_EXPECTS(a != 0, "noised law: a = b = 0");
    std::vector<double> rows;
    for (std::size_t k = 0; k < target.size(); ++k)
      for (double v : target.mean(k)) rows.push_back(a * v);
    return GaussianMixture::empirical(rows, target.size(), d);
  }
  const std::vector<double> W = noise.sqrt_matrix(d);
  const Eigen::Map<const Matrix> Wm(W.data(), static_cast<long>(d), static_cast<long>(d));
  const Matrix N = Wm * Wm;  // Sigma_n
  GaussianMixture out(d);
  for (std::size_t k = 0; k < target.size(); ++k) {
    std::vector<double> mean = target.mean(k);
    for (double& v : mean) v *= a;
    if (noise.is_isotropic() && target.kind(k) != Covariance::full) {
      std::vector<double> l = target.eigenvalues(k);
      for (double& v : l) v = a * a * v + b * b * noise.sigma2();
      out.add(w[k], mean, target.kind(k) == Covariance::isotropic || d == 1 ? std::vector<double>{l[0]} : l);
    } else {
      const std::vector<double> S = target.covariance(k);
      const Eigen::Map<const Matrix> Sm(S.data(), static_cast<long>(d), static_cast<long>(d));
      const Matrix C = a * a * Sm + b * b * N;
      const Matrix Cs = 0.5 * (C + C.transpose());
      std::vector<double> flat(Cs.data(), Cs.data() + d * d);
      out.add(w[k], mean, d == 1 ? std::vector<double>{flat[0]} : flat);
    }
  }
  return out;
}

template <class Real>
ParticleSet<Real> sample_initial(Context& ctx, const GaussianMixture& target, const Noise& noise, double a0, double b0,
                                 std::size_t n, bool exact, std::size_t first_row) {
  if (exact) return noised(target, noise, a0, b0).template sample<Real>(ctx, n, first_row);
  GaussianMixture standard(target.dim());
  standard.add(1.0, std::vector<double>(target.dim(), 0.0), {1.0});
  return noised(standard, noise, 0.0, b0).template sample<Real>(ctx, n, first_row);
}

template ParticleSet<float> sample_initial<float>(Context&, const GaussianMixture&, const Noise&, double, double,
                                                  std::size_t, bool, std::size_t);
template ParticleSet<double> sample_initial<double>(Context&, const GaussianMixture&, const Noise&, double, double,
                                                    std::size_t, bool, std::size_t);

GaussianMixture whiten(const GaussianMixture& target, const Noise& noise) {
  const std::size_t d = target.dim();
  if (noise.is_isotropic() && noise.sigma2() == 1.0) return target;
  const std::vector<double> wi = noise.inv_sqrt_matrix(d);
  const Eigen::Map<const Matrix> Winv(wi.data(), static_cast<long>(d), static_cast<long>(d));
  const double s2 = noise.sigma2();
  // A diagonal noise keeps isotropic and diagonal components diagonal (d may
  // then exceed the full-covariance kernels' limit).
  bool diagonal_noise = true;
  for (std::size_t i = 0; i < d && diagonal_noise; ++i)
    for (std::size_t j = 0; j < d; ++j)
      if (i != j && wi[i * d + j] != 0) {
        diagonal_noise = false;
        break;
      }
  std::vector<double> rows;
  GaussianMixture out(d);
  if (target.has_atoms()) {
    for (std::size_t k = 0; k < target.size(); ++k) {
      const Eigen::Map<const Eigen::VectorXd> m(target.mean(k).data(), static_cast<long>(d));
      const Eigen::VectorXd wm = Winv * m;
      rows.insert(rows.end(), wm.data(), wm.data() + d);
    }
    return GaussianMixture::empirical(rows, target.size(), d);
  }
  const std::vector<double> w = target.weights();
  for (std::size_t k = 0; k < target.size(); ++k) {
    const Eigen::Map<const Eigen::VectorXd> m(target.mean(k).data(), static_cast<long>(d));
    const Eigen::VectorXd wm = Winv * m;
    std::vector<double> mean(wm.data(), wm.data() + d);
    if (noise.is_isotropic() && target.kind(k) != Covariance::full) {
      std::vector<double> l = target.eigenvalues(k);
      for (double& v : l) v /= s2;
      out.add(w[k], mean, target.kind(k) == Covariance::isotropic ? std::vector<double>{l[0]} : (d == 1 ? std::vector<double>{l[0]} : l));
    } else if (diagonal_noise && target.kind(k) != Covariance::full) {
      const std::vector<double> S = target.covariance(k);
      std::vector<double> v(d);
      for (std::size_t i = 0; i < d; ++i) v[i] = S[i * d + i] * wi[i * d + i] * wi[i * d + i];
      out.add(w[k], mean, d == 1 ? std::vector<double>{v[0]} : v);
    } else {
      const std::vector<double> S = target.covariance(k);
      const Eigen::Map<const Matrix> Sm(S.data(), static_cast<long>(d), static_cast<long>(d));
      Matrix Sw = Winv * Sm * Winv;
      Sw = 0.5 * (Sw + Sw.transpose());  // exact symmetry for the factorization
      std::vector<double> flat(Sw.data(), Sw.data() + d * d);
      out.add(w[k], mean, d == 1 ? std::vector<double>{flat[0]} : flat);
    }
  }
  return out;
}

std::vector<double> mixture_mean(const GaussianMixture& g) {
  const std::vector<double> w = g.weights();
  std::vector<double> mean(g.dim(), 0.0);
  for (std::size_t k = 0; k < g.size(); ++k)
    for (std::size_t a = 0; a < g.dim(); ++a) mean[a] += w[k] * g.mean(k)[a];
  return mean;
}

std::vector<double> mixture_covariance(const GaussianMixture& g) {
  const std::size_t d = g.dim();
  const std::vector<double> w = g.weights(), mean = mixture_mean(g);
  std::vector<double> cov(d * d, 0.0);
  for (std::size_t k = 0; k < g.size(); ++k) {
    const std::vector<double> S = g.covariance(k);
    const std::vector<double>& m = g.mean(k);
    for (std::size_t a = 0; a < d; ++a)
      for (std::size_t b = 0; b < d; ++b) cov[a * d + b] += w[k] * (S[a * d + b] + (m[a] - mean[a]) * (m[b] - mean[b]));
  }
  return cov;
}

}  // namespace flowsampler::targets
