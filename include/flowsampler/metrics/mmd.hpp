#pragma once
/// \file Maximum mean discrepancy and the energy distance, on the pairwise
/// engine (O(N + M) memory, N x M kernel evaluations).
#include "flowsampler/core/communicator.hpp"
#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"
#include "flowsampler/pairwise/pairwise.hpp"

namespace flowsampler::metrics {

/// MMD^2 = E k(X, X') + E k(Y, Y') - 2 E k(X, Y). `unbiased` leaves out the
/// i = j terms of the first two means (the U-statistic, which can be
/// negative; needs N, M >= 2); otherwise the V-statistic (biased, >= 0 for
/// the positive-definite kernels). Error on mismatched d, empty sets.
/// comm: split the kernel sums over these ranks by rows (every rank passes
/// both clouds whole and gets the same value, equal to one process's up to
/// the order of the partial sums); null: one process.
template <class Real>
double mmd_squared(const Context& ctx, const pairwise::KernelSpec& kernel, const ParticleSet<Real>& x,
                   const ParticleSet<Real>& y, bool unbiased = false, const Communicator* comm = nullptr);

/// Energy distance 2 E|X - Y| - E|X - X'| - E|Y - Y'| (V-statistic, >= 0),
/// the MMD^2 of the energy kernel with h = 1.
template <class Real>
double energy_distance(const Context& ctx, const ParticleSet<Real>& x, const ParticleSet<Real>& y,
                       const Communicator* comm = nullptr);

}  // namespace flowsampler::metrics
