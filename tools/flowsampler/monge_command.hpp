#pragma once
// `flowsampler monge`: learn a Monge map T = grad phi_theta (a convex
// potential) from a source to the minimiser of KL, MMD or the Sinkhorn
// divergence to a target, by the constrained drifting schemes or a Euclidean
// baseline (flowsampler/monge/train.hpp); `flowsampler monge-apply`: push a
// cloud through a saved map.
#include <string>

#include "monge_options.hpp"

namespace flowsampler::cli {

int run_monge(const MongeCliOptions& options, const std::string& backend);
int run_monge_apply(const MongeApplyOptions& options, const std::string& backend);

}  // namespace flowsampler::cli
