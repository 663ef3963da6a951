#pragma once
/// \file Learning a Monge map T = grad phi_theta from rho to the minimiser of
/// a functional F (monge/functional.hpp), by the schemes of "Learning Monge
/// maps with constrained drifting models" (Algorithms 1 and 2):
///
///   euclidean  theta <- theta - lr G, G = (1/N) sum_i grad_W F(T#rho)(T(x_i)) . dT(x_i)/dtheta
///   adam       the same gradient G fed to Adam
///   explicit   per outer step k: z_i = T_k(x_i) - tau grad_W F(T_k#rho)(T_k(x_i)),
///              then `inner` Adam steps (lr) on mean_i |T_theta(x_i) - z_i|^2
///   implicit   per outer step k: `inner` Adam steps on
///              (1/(2 tau)) mean_i |T_theta(x_i) - T_k(x_i)|^2 + F(T_theta#rho)
///
/// A fresh batch of rho is drawn at every (inner) step, as in the seed; the
/// Adam state is reset at each outer step. After every optimizer step the
/// potential's convexity constraints are restored (project()).
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"
#include "flowsampler/monge/functional.hpp"
#include "flowsampler/monge/potential.hpp"
#include "flowsampler/targets/gaussian_mixture.hpp"
#include "flowsampler/core/names.hpp"

namespace flowsampler::monge {

enum class Method { implicit_scheme, explicit_scheme, euclidean, adam };

/// The names of Method values: parsing, printing and the CLI's choices (core/names.hpp).
inline constexpr NameTable<Method, 4> method_names{{
    {Method::implicit_scheme, "implicit"},
    {Method::explicit_scheme, "explicit"},
    {Method::euclidean, "euclidean"},
    {Method::adam, "adam"}}};

/// "implicit", "explicit", "euclidean", "adam"; Error naming `what` otherwise.
Method parse_method(const std::string& name, const std::string& what = "method");
std::string to_string(Method m);

struct MongeOptions {
  Method method = Method::implicit_scheme;
  double tau = 0.4;          ///< implicit/explicit: time step (> 0)
  int steps = 10;            ///< outer steps (euclidean/adam: optimizer steps), >= 1
  int inner = 100;           ///< implicit/explicit: inner Adam steps, >= 1
  double lr = 0.1;           ///< inner Adam lr (implicit/explicit), or the lr of euclidean/adam
  double beta1 = 0.9, beta2 = 0.999, adam_eps = 1e-8;
  std::size_t batch = 100;   ///< points of rho per (inner) step, >= 2
  /// Reseeds ctx's random stream at the start (the source draws), with a
  /// stream derived from seed: not the draws a context seeded with `seed` makes.
  std::uint64_t seed = 0;
  /// explicit/implicit: draw a new batch (and, explicit, re-estimate grad_W F
  /// on T_k of it) at every inner step, as the seed's code; false: one batch
  /// per outer step.
  bool fresh_inner_batches = true;
  /// explicit: the first outer step starts from T_0 = identity, whatever the
  /// initial network (the seed's code evaluates its map at t = 0 as x).
  bool identity_first_step = false;
  /// euclidean/adam: record every this many steps (0: steps / 10, at least 1).
  int record_every = 0;
  bool record_value = true;  ///< record F(T#rho) on the batch where the functional has a cheap value
  /// Called after every outer (euclidean/adam: optimizer) step with the
  /// number done and the total (progress reports).
  std::function<void(int done, int total)> on_step;
};

/// Draws n points of rho (N x d, double).
using Sampler = std::function<ParticleSet<double>(Context& ctx, std::size_t n)>;

/// rho = a Gaussian mixture, sampled with GaussianMixture::sample.
Sampler mixture_sampler(const targets::GaussianMixture& source);
/// rho = a fixed cloud, resampled uniformly with replacement on ctx's backend
/// (Philox keyed by ctx's seed and draw counter: the same rows on every
/// backend). The sampler keeps a host copy and moves it once to the memory of
/// the context it draws with.
Sampler cloud_sampler(const ParticleSet<double>& cloud);

/// Optional quality record: energy distance between T(source) and target
/// (fixed clouds, e.g. 10,000 points each; copied once to the training
/// context's memory when they live elsewhere), taken at each record.
struct MongeEval {
  const ParticleSet<double>* source = nullptr;
  const ParticleSet<double>* target = nullptr;
};

struct MongeRecord {
  int step = 0;                ///< outer step (euclidean/adam: optimizer step) just finished
  double time = 0;             ///< step x tau (implicit/explicit), else the step
  double value = NAN;          ///< F on the step's pushed batch (NaN: not cheap or not recorded)
  double energy_distance = NAN;  ///< with MongeEval; NaN otherwise
  double seconds = 0;          ///< wall time since the start
};

struct MongeReport {
  std::vector<MongeRecord> history;
  double seconds = 0;
  long wgrad_evaluations = 0;  ///< calls of F's Wasserstein gradient
  long map_gradients = 0;      ///< parameter gradients (map_vjp calls)
};

/// Trains `potential` in place. The batches, pushed points and gradients stay
/// in ctx's memory; per optimizer step only theta (up) and its gradient (down)
/// cross between host and device, besides what the functional and the
/// sampler move. Error on tau <= 0, steps/inner < 1, lr <= 0,
/// batch < 2, or dimensions that differ between potential, functional,
/// sampler and evaluation clouds.
MongeReport train_monge_map(Context& ctx, ConvexPotential& potential, const Functional& functional,
                            const Sampler& source, const MongeOptions& options, const MongeEval& eval = {});

/// The Monge map between Gaussians N(m1, S1) -> N(m2, S2): T*(x) = m2 + A (x - m1),
/// A = S1^-1/2 (S1^1/2 S2 S1^1/2)^1/2 S1^-1/2 (d x d, row-major, symmetric
/// positive definite). Error on non-SPD or mismatched inputs.
std::vector<double> bures_map_matrix(const std::vector<double>& S1, const std::vector<double>& S2);

}  // namespace flowsampler::monge
