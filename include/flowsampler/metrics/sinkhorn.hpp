#pragma once
/// \file The Sinkhorn divergence among the metrics: the entropic OT solver of
/// flowsampler/solvers/sinkhorn.hpp under its metrics:: names (the names of
/// releases before the solvers/ layer).
#include "flowsampler/solvers/sinkhorn.hpp"

namespace flowsampler::metrics {

using solvers::barycentric_projection;
using solvers::sinkhorn;
using solvers::sinkhorn_self_potential;
using solvers::SinkhornOptions;
using solvers::SinkhornResult;

}  // namespace flowsampler::metrics
