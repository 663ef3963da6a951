#pragma once
// Arrays between Python and the library. Particle clouds come in as any
// (N, d) array nanobind reads (numpy, or a DLPack producer such as a torch
// CPU tensor) and leave as numpy arrays.
//
// When a copy happens: the library's layout is column-major (coordinate k of
// particle i at k*N + i), which is the memory of a Fortran-ordered (N, d)
// array. Such an array in the precision of the computation, on a CPU
// context, is read in place (a ParticleSet view, no copy). Any other layout
// (C order, strided), a dtype conversion or a device context costs one copy.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstddef>
#include <string>
#include <vector>

#include "flowsampler/core/context.hpp"
#include "flowsampler/core/particle_set.hpp"

namespace flowsampler::python {

namespace nb = nanobind;

/// Any array nanobind accepts, read-only, on any device (checked in as_cloud).
using AnyArray = nb::ndarray<nb::ro>;

/// True when x holds float64 values; Error naming `name` unless float32 or float64.
bool is_float64(const AnyArray& x, const char* name);

/// x as an N x d cloud ((N,) is N x 1) for `ctx`: a view when the layout
/// allows (see above), else one copy; `copied` tells which. Error naming
/// `name` on another shape or dtype, a device array, or a non-finite value
/// (the message of the CLI's .npy reader). The array must outlive the set.
template <class Real>
ParticleSet<Real> as_cloud(const Context& ctx, const AnyArray& x, const char* name, bool* copied = nullptr);

/// A new C-order numpy array that owns `values` (moved, not copied).
template <class T>
nb::object numpy_from(std::vector<T>&& values, std::vector<std::size_t> shape);

}  // namespace flowsampler::python
