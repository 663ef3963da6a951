#pragma once
/// \file Library version and build features.
#include <string>

namespace flowsampler {
/// "major.minor.patch" of the library that is linked (not of the headers).
std::string version();
/// True when the linked library was built with the CUDA backend compiled in.
bool built_with_cuda();
}  // namespace flowsampler
