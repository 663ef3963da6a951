#pragma once
/// \file First-order optimizers on a flat parameter vector (host, double).
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace flowsampler::monge {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  /// theta <- theta - update(grad). Error on a size change between calls or a non-finite gradient.
  virtual void step(std::vector<double>& theta, const std::vector<double>& grad) = 0;
  /// Forgets the state (moments, step count).
  virtual void reset() = 0;
};

/// theta <- theta - lr grad. Error when lr <= 0.
class GradientDescent final : public Optimizer {
 public:
  explicit GradientDescent(double lr);
  void step(std::vector<double>& theta, const std::vector<double>& grad) override;
  void reset() override {}

 private:
  double lr_;
};

/// Adam (Kingma & Ba 2015) with bias correction, as torch.optim.Adam:
/// m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2,
/// theta <- theta - lr (m / (1 - b1^k)) / (sqrt(v / (1 - b2^k)) + eps).
class Adam final : public Optimizer {
 public:
  /// Error when lr <= 0, b1 or b2 outside [0, 1), eps <= 0.
  explicit Adam(double lr, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8);
  void step(std::vector<double>& theta, const std::vector<double>& grad) override;
  void reset() override;

 private:
  double lr_, b1_, b2_, eps_;
  long k_ = 0;
  std::vector<double> m_, v_;
};

}  // namespace flowsampler::monge
