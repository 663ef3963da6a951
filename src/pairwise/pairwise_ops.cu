// Instantiates the CUDA pairwise launcher for every shipped op: the visitors
// below name exactly the op types that src/pairwise/pairwise.cpp runs.
#include <type_traits>

#include "cuda/pairwise.cuh"
#include "pairwise/shipped_ops.hpp"

namespace flowsampler::cuda {

// Taking each launcher's address (into this external sink) makes the compiler
// emit it out of line, where src/pairwise/pairwise.cpp links to it.
extern void* volatile pairwise_instantiation_sink;
void* volatile pairwise_instantiation_sink = nullptr;

namespace {
using kernels::Reduction;

template <Reduction R, class Op, class Real>
void emit() {
  pairwise_instantiation_sink = reinterpret_cast<void*>(&pairwise<R, Op, Real>);
}

template <class Real>
void instantiate_all() {
  for (auto kind : {pairwise::Kernel::gaussian, pairwise::Kernel::laplace, pairwise::Kernel::imq,
                    pairwise::Kernel::energy})
    for (bool grad : {false, true})
      for (bool weighted : {false, true})
        pairwise::detail::visit_kernel_op<Real>({kind, 1.0}, grad, weighted, [](const auto& op) {
          emit<Reduction::sum, std::decay_t<decltype(op)>, Real>();
        });
  for (bool laplace : {false, true})
    for (bool weighted : {false, true})
      pairwise::detail::visit_mean_shift_op<Real>(
          1.0, weighted, [](const auto& op) { emit<Reduction::softmax, std::decay_t<decltype(op)>, Real>(); }, laplace);
  emit<Reduction::sum, decltype(pairwise::detail::svgd_op<Real>(1.0)), Real>();
  emit<Reduction::softmax, decltype(pairwise::detail::softmin_op<Real, true>(1.0)), Real>();
  emit<Reduction::softmax, decltype(pairwise::detail::softmin_op<Real, false>(1.0)), Real>();
  emit<Reduction::kmin, kernels::SqDistOp<Real>, Real>();
}
}  // namespace

extern void (*const pairwise_instantiations[2])();
void (*const pairwise_instantiations[2])() = {&instantiate_all<float>, &instantiate_all<double>};

}  // namespace flowsampler::cuda
