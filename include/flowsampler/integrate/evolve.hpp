#pragma once
/// \file Particle evolution: a cloud moved by a field for K steps of size dt,
/// with the cloud's distance to a reference recorded every J steps.
#include <functional>
#include <vector>

#include "flowsampler/integrate/integrate.hpp"

namespace flowsampler::integrate {

struct EvolveRecord {
  int step = 0;
  double t = 0;
  std::vector<double> mean;       ///< d values
  double covariance_trace = 0;
  double energy_distance = -1;    ///< to the reference cloud (-1 without one)
};

struct EvolveOptions {
  int steps = 100;
  double dt = 0.1;
  Method method = Method::euler;  ///< a velocity method: euler, heun, midpoint, rk4
  int every = 10;                 ///< record every J steps (and at the start and the end)
  /// Called after every step with the number of steps done (progress reports).
  std::function<void(int done)> on_step;
  /// When z is one rank's shard of a cloud split over `comm` (the field must
  /// then act on each particle alone, as the mean shift to fixed data does):
  /// each record gathers the cloud on rank 0 and is computed there; the other
  /// ranks return no records.
  const Communicator* comm = nullptr;
};

/// Moves z from t = 0 to steps * dt and returns the records. `reference`
/// (e.g. the data cloud) may be null; its energy distance to the cloud is
/// O(N M) per record. Every record is a set of device reductions (the mean,
/// the covariance, the energy distance's kernel sums): on a device context
/// only their scalars travel. Error on steps < 1, dt <= 0, every < 1, a
/// non-velocity method.
template <class Real>
std::vector<EvolveRecord> evolve(const Context& ctx, const fields::Field<Real>& field, ParticleSet<Real>& z,
                                 const EvolveOptions& options, const ParticleSet<Real>* reference = nullptr);

}  // namespace flowsampler::integrate
