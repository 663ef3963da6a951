// The Gaussian-mixture ops with isotropic covariances on the emulated pairwise body against the CPU backend.
#include "pairwise_body_testing.hpp"

template <class Real>
class SimtPairwiseGmm : public ::testing::Test {};
using flowsampler::test::Reals;
TYPED_TEST_SUITE(SimtPairwiseGmm, Reals);

TYPED_TEST(SimtPairwiseGmm, IsotropicOpsEqualCpuBackend) {
  flowsampler::test::pairwise_body::check_gmm_ops<TypeParam, false>();
}
