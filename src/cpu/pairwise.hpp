#pragma once
// The CPU backend of the pairwise engine: each reduction is a policy
// (cpu/reduce_*.hpp) of the one tiled driver (cpu/pairwise_driver.hpp).
// A call reduces over all y rows and writes its outputs; reduce_rows reduces
// over a piece [j_begin, j_end) of them and returns the partial states, which
// merge_states joins (in a fixed order: left piece first) and finish_states
// turns into the outputs, so a caller can cut M across threads, ranks or
// devices.
#include <cstddef>
#include <cstdint>
#include <optional>

#include "cpu/distance_tile.hpp"
#include "cpu/pairwise_driver.hpp"
#include "cpu/reduce_kmin.hpp"
#include "cpu/reduce_softmax.hpp"
#include "cpu/reduce_sum.hpp"
#include "cpu/span_bounds.hpp"

namespace flowsampler::cpu {

/// Calls f(args) with the tables a policy reads besides the rows: y's rows by
/// distance (cpu/distance_tile.hpp) when it takes its tiles that way, the
/// bounds of y's spans (cpu/span_bounds.hpp) when it skips far ones. Built per
/// call from all m rows, so every piece of a cut M sees the same ones.
template <class Policy, class Real, class F>
void with_row_tables(const Policy& policy, const PairwiseArgs<Real>& args, F&& f) {
  PairwiseArgs<Real> a = args;
  std::optional<DistanceRows<Real>> rows;
  std::optional<SpanBounds<Real>> bounds;
  if constexpr (Policy::distance) a.dist = &rows.emplace(*policy.op, args.y_rows, args.py_rows, args.m, args.d);
  if constexpr (detail::skips_far_spans<Policy>::value)
    if (args.m > detail::tile_rows) a.bounds = &bounds.emplace(*policy.op, args.y_rows, args.py_rows, args.m, args.d);
  f(a);
}

/// Runs `policy` over all pairs and writes its outputs.
template <class Policy, class Real>
void reduce_all(const Policy& policy, const PairwiseArgs<Real>& args) {
  with_row_tables(policy, args, [&](const PairwiseArgs<Real>& a) {
    detail::tiled(policy, a, 0, a.m, [&](const typename Policy::Lanes& lanes, std::size_t i0, std::size_t len) {
      policy.finish(lanes.st, a, i0, len);
    });
  });
}

/// The states of every x row over the y rows [j_begin, j_end) only.
template <class Policy, class Real>
typename Policy::States reduce_rows(const Policy& policy, const PairwiseArgs<Real>& args, std::size_t j_begin,
                                    std::size_t j_end) {
  typename Policy::States st(policy, args.n);
  with_row_tables(policy, args, [&](const PairwiseArgs<Real>& a) {
    detail::tiled(policy, a, j_begin, j_end, [&](const typename Policy::Lanes& lanes, std::size_t i0, std::size_t len) {
      policy.save(lanes.st, len, i0, st);
    });
  });
  return st;
}

/// a = a joined with b, where b covers the y rows after a's.
template <class Policy>
void merge_states(const Policy& policy, typename Policy::States& a, const typename Policy::States& b) {
  policy.merge(a, b);
}

/// The outputs from the states of every x row.
template <class Policy, class Real>
void finish_states(const Policy& policy, const PairwiseArgs<Real>& args, const typename Policy::States& st) {
  policy.finish(st, args, 0, args.n);
}

/// out (n x p column-major) = sum_j value(x_i, y_j).
template <int D, class Op, class Real>
void pairwise_sum(const Op& op, const PairwiseArgs<Real>& args, Real* out) {
  reduce_all(SumPolicy<D, Op, Real>(op, args.d, out), args);
}

/// out (n x p column-major) = softmax-weighted mean of the values, lse (n) = log sum_j exp(logit_ij).
template <int D, class Op, class Real>
void pairwise_softmax(const Op& op, const PairwiseArgs<Real>& args, Real* out, Real* lse) {
  reduce_all(SoftmaxPolicy<D, Op, Real>(op, args.d, out, lse), args);
}

/// dist/idx (n x k column-major): the k smallest distances of each x_i, ascending.
/// Slots beyond m (k > m) hold +inf and index UINT32_MAX.
template <int D, class Op, class Real>
void pairwise_kmin(const Op& op, const PairwiseArgs<Real>& args, int k, Real* dist, std::uint32_t* idx) {
  reduce_all(KminPolicy<D, Op, Real>{&op, k, dist, idx}, args);
}

}  // namespace flowsampler::cpu
