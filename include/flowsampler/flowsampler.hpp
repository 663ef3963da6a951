#pragma once
/// \file The whole public API of flowsampler.
#include "flowsampler/core/buffer.hpp"
#include "flowsampler/core/context.hpp"
#include "flowsampler/core/error.hpp"
#include "flowsampler/core/particle_set.hpp"
#include "flowsampler/core/random.hpp"
#include "flowsampler/core/version.hpp"
#include "flowsampler/fields/gmm_field.hpp"
#include "flowsampler/io/npy.hpp"
#include "flowsampler/metrics/moments.hpp"
#include "flowsampler/pairwise/pairwise.hpp"
#include "flowsampler/paths/path.hpp"
#include "flowsampler/targets/gaussian_mixture.hpp"
