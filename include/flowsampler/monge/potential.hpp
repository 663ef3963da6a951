#pragma once
/// \file Convex potentials phi_theta whose gradient T = grad phi_theta is a
/// transport map (Brenier), with every derivative written by hand.
///
/// Points are N x d double clouds in a context's memory (column-major: the
/// ParticleSet layout); a batch is evaluated layer by layer with GEMMs and
/// elementwise kernels on the context's backend, and only parameter-sized
/// data cross between host and device (theta up, its gradient down).
/// Parameters are one flat host vector theta. The overloads on host arrays
/// (N x d column-major) run the same code on a CPU context.
/// Convexity in x holds for every theta that satisfies the potential's
/// constraints; project() restores them after an optimizer step (projected
/// gradient, as the seed's public code clamps its weights).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"

namespace flowsampler::monge {

/// What make_potential() builds; also what a map directory's manifest records.
struct PotentialSpec {
  std::string type = "icnn";  ///< "icnn" or "lse"
  std::size_t dim = 2;        ///< d >= 1
  /// icnn: hidden widths W_1..W_L (L >= 1, each >= 1).
  std::vector<std::size_t> widths{20, 20};
  /// icnn: add (q/2)|x|^2 + v.x to phi (q >= 0 and v trainable).
  bool skip = true;
  /// lse: number of affine pieces K >= 1 and the temperature s > 0.
  std::size_t pieces = 64;
  double s = 0.1;
  /// "identity": phi ~ |x|^2/2, T starts near x (icnn: q = 1, v = 0 and a
  /// small network part; lse: a_k ~ N(0, init_scale^2 I), b_k = -|a_k|^2/2).
  /// "seed" (icnn only): PyTorch's default nn.Linear draws with the hidden and
  /// output weights N(0, 0.1) clamped at 0, as monge-constrained-flow's
  /// ICNNMap (use with skip = false to match it).
  std::string init = "identity";
  double init_scale = 2.0;  ///< lse identity init: spread of the a_k
  std::uint64_t seed = 0;   ///< initial draw
};

/// The common interface: value, map T = grad_x phi, and the parameter
/// gradient of linear functionals of the map.
class ConvexPotential {
 public:
  virtual ~ConvexPotential() = default;
  virtual const PotentialSpec& spec() const = 0;
  std::size_t dim() const { return spec().dim; }
  std::size_t num_params() const { return theta_.size(); }
  const std::vector<double>& params() const { return theta_; }
  /// Replaces theta (Error on a size mismatch or a non-finite entry), then project().
  void set_params(const std::vector<double>& theta);
  /// Clamps the constrained parameters to their feasible set (convexity).
  virtual void project() = 0;
  /// phi(x_i) as an N x 1 set; x: N x d in ctx's memory.
  virtual ParticleSet<double> value(const Context& ctx, const ParticleSet<double>& x) const = 0;
  /// T(x_i) = grad phi(x_i), N x d in ctx's memory.
  virtual ParticleSet<double> map(const Context& ctx, const ParticleSet<double>& x) const = 0;
  /// grad_theta sum_i g_i . T_theta(x_i) (num_params() values, on the host);
  /// x, g: N x d in ctx's memory. Every loss of the map reduces to this with
  /// g_i = dL/dT(x_i).
  virtual std::vector<double> map_vjp(const Context& ctx, const ParticleSet<double>& x,
                                      const ParticleSet<double>& g) const = 0;
  /// The same on host arrays, N x d column-major (a CPU context).
  std::vector<double> value(const double* x, std::size_t n) const;
  std::vector<double> map(const double* x, std::size_t n) const;
  std::vector<double> map_vjp(const double* x, const double* g, std::size_t n) const;
  virtual std::unique_ptr<ConvexPotential> clone() const = 0;

 protected:
  /// theta in ctx's memory (one upload of num_params() values).
  Buffer<double> params_on(const Context& ctx) const;
  /// Error unless x (and g) are N x dim() sets in ctx's memory.
  void expect_points(const Context& ctx, const ParticleSet<double>& x, const ParticleSet<double>* g = nullptr) const;
  std::vector<double> theta_;
};

/// phi(x) = s log sum_k exp((a_k . x + b_k) / s): T(x) = sum_k softmax_k a_k.
/// theta = [a (K x d, row-major), b (K)]; convex for every theta.
class LogSumExpPotential final : public ConvexPotential {
 public:
  /// Error on d = 0, K = 0, s <= 0, init other than "identity".
  explicit LogSumExpPotential(const PotentialSpec& spec);
  const PotentialSpec& spec() const override { return spec_; }
  void project() override {}
  using ConvexPotential::map;
  using ConvexPotential::map_vjp;
  using ConvexPotential::value;
  ParticleSet<double> value(const Context& ctx, const ParticleSet<double>& x) const override;
  ParticleSet<double> map(const Context& ctx, const ParticleSet<double>& x) const override;
  std::vector<double> map_vjp(const Context& ctx, const ParticleSet<double>& x, const ParticleSet<double>& g) const override;
  std::unique_ptr<ConvexPotential> clone() const override { return std::make_unique<LogSumExpPotential>(*this); }

 private:
  PotentialSpec spec_;
};

/// Input-convex network with softplus activations (convex, non-decreasing):
///   z_1 = softplus(A_1 x + b_1),  z_l = softplus(B_l z_{l-1} + A_l x + b_l),
///   phi = w . z_L [+ (q/2)|x|^2 + v . x].
/// Convexity: B_l >= 0, w >= 0, q >= 0, kept by clamping (project()).
/// theta = for l = 1..L: A_l (W_l x d, row-major), b_l (W_l), B_l (W_l x
/// W_{l-1}, row-major, l >= 2); then w (W_L); then q, v (d) when skip.
class IcnnPotential final : public ConvexPotential {
 public:
  /// Error on d = 0, no layers, a zero width, an unknown init.
  explicit IcnnPotential(const PotentialSpec& spec);
  const PotentialSpec& spec() const override { return spec_; }
  void project() override;
  using ConvexPotential::map;
  using ConvexPotential::map_vjp;
  using ConvexPotential::value;
  ParticleSet<double> value(const Context& ctx, const ParticleSet<double>& x) const override;
  ParticleSet<double> map(const Context& ctx, const ParticleSet<double>& x) const override;
  std::vector<double> map_vjp(const Context& ctx, const ParticleSet<double>& x, const ParticleSet<double>& g) const override;
  std::unique_ptr<ConvexPotential> clone() const override { return std::make_unique<IcnnPotential>(*this); }

  /// Offsets of the blocks in theta (A_l, b_l, B_l per layer; w; q; v).
  struct Layout {
    std::vector<std::size_t> A, b, B;
    std::size_t w = 0, q = 0, v = 0, total = 0;
  };
  const Layout& layout() const { return lay_; }

 private:
  PotentialSpec spec_;
  Layout lay_;
};

/// Builds the potential named by spec.type ("icnn" or "lse"); Error otherwise.
std::unique_ptr<ConvexPotential> make_potential(const PotentialSpec& spec);

/// T(x) for a whole cloud in ctx's memory (float or double; computed in
/// double on ctx's backend). Error when x.d() differs from the potential's dimension.
template <class Real>
ParticleSet<Real> apply_map(const Context& ctx, const ConvexPotential& potential, const ParticleSet<Real>& x);

}  // namespace flowsampler::monge
