#include "flowsampler/monge/optimizer.hpp"

#include <cmath>

#include "flowsampler/core/error.hpp"

namespace flowsampler::monge {

namespace {
void check(const std::vector<double>& theta, const std::vector<double>& grad, const char* who) {
  FLOWSAMPLER_EXPECTS(grad.size() == theta.size(),
                      who << ": gradient has " << grad.size() << " entries, parameters " << theta.size());
  for (std::size_t p = 0; p < grad.size(); ++p)
    FLOWSAMPLER_EXPECTS(std::isfinite(grad[p]), who << ": gradient entry " << p << " is " << grad[p]
                                                    << " (the step diverged; lower the learning rate)");
}
}  // namespace

GradientDescent::GradientDescent(double lr) : lr_(lr) {
  FLOWSAMPLER_EXPECTS(std::isfinite(lr) && lr > 0, "gradient descent: lr must be > 0, got " << lr);
}

void GradientDescent::step(std::vector<double>& theta, const std::vector<double>& grad) {
  check(theta, grad, "gradient descent");
  for (std::size_t p = 0; p < theta.size(); ++p) theta[p] -= lr_ * grad[p];
}

Adam::Adam(double lr, double beta1, double beta2, double eps) : lr_(lr), b1_(beta1), b2_(beta2), eps_(eps) {
  FLOWSAMPLER_EXPECTS(std::isfinite(lr) && lr > 0, "adam: lr must be > 0, got " << lr);
  FLOWSAMPLER_EXPECTS(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1,
                      "adam: beta1 and beta2 must be in [0, 1), got " << beta1 << ", " << beta2);
  FLOWSAMPLER_EXPECTS(std::isfinite(eps) && eps > 0, "adam: eps must be > 0, got " << eps);
}

void Adam::reset() {
  k_ = 0;
  m_.clear();
  v_.clear();
}

void Adam::step(std::vector<double>& theta, const std::vector<double>& grad) {
  check(theta, grad, "adam");
  if (m_.empty()) m_.assign(theta.size(), 0.0), v_.assign(theta.size(), 0.0);
  FLOWSAMPLER_EXPECTS(m_.size() == theta.size(), "adam: the parameter count changed between steps");
  ++k_;
  const double c1 = 1 - std::pow(b1_, double(k_)), c2 = 1 - std::pow(b2_, double(k_));
  for (std::size_t p = 0; p < theta.size(); ++p) {
    m_[p] = b1_ * m_[p] + (1 - b1_) * grad[p];
    v_[p] = b2_ * v_[p] + (1 - b2_) * grad[p] * grad[p];
    theta[p] -= lr_ * (m_[p] / c1) / (std::sqrt(v_[p] / c2) + eps_);
  }
}

}  // namespace flowsampler::monge
