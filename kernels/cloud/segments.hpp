#pragma once
// Offsets of equal-length segments (the begin/end arrays of segmented sorts).
#include <cstddef>

#include "hd.hpp"

namespace flowsampler::kernels {

struct SegmentOffsets {
  long long* out;
  long long length;
  FLOWSAMPLER_HD FLOWSAMPLER_INLINE void operator()(std::size_t i) const { out[i] = static_cast<long long>(i) * length; }
};

}  // namespace flowsampler::kernels
