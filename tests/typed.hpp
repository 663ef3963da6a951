#pragma once
// The precisions every typed test runs over.
#include <gtest/gtest.h>

namespace flowsampler::test {
using Reals = ::testing::Types<float, double>;
}
