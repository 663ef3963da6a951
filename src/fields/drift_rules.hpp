#pragma once
// One rule per drift field: what it takes (checked once, when the field is
// made) and its velocity for one evaluation. DriftField holds the data, draws
// the batches and looks its kind up here; adding a drift is one function and
// one row of the table in drift_rules.cpp.
#include "flowsampler/fields/drifts.hpp"

namespace flowsampler::fields::drift_rules {

/// What one evaluation of a drift sees.
template <class Real>
struct DriftCall {
  const ParticleSet<Real>& z;       ///< the cloud
  const ParticleSet<Real>& data;    ///< the data cloud, or this evaluation's batch of it (empty when unused)
  const ParticleSet<Real>* log_w;   ///< the data's log-weights; null: uniform
  const DriftOptions& o;
  const GmmField* target;           ///< svgd: the target's exact field
};

/// What a drift takes.
struct DriftNeeds {
  enum class Kernels { any, gaussian_or_laplace, gaussian };
  bool data;      ///< a non-empty data cloud
  bool target;    ///< a target with a density
  bool weights;   ///< accepts data weights
  Kernels kernels;
};

template <class Real>
struct DriftRule {
  DriftNeeds needs;
  ParticleSet<Real> (*velocity)(const Context& ctx, const DriftCall<Real>& call);
};

/// The rule of `kind`.
template <class Real>
const DriftRule<Real>& drift_rule(Drift kind);

}  // namespace flowsampler::fields::drift_rules
