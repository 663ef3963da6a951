#pragma once
// What the SIMT tests of the pairwise body share: random clouds, the cases,
// and `emulate`, which runs the CUDA kernel body on fibers over column-major
// host arrays as the CUDA launcher would. The tests are split over several
// files (one per suite) because each instantiates the body and the CPU
// engine for every compile-time dimension: one file took ~10 minutes to compile.
#include <gtest/gtest.h>

#include "typed.hpp"

#include <random>
#include <tuple>

#include "pairwise/body.hpp"
#include "pairwise/device_dim.hpp"
#include "pairwise/engine.hpp"
#include "pairwise/ops.hpp"
#include "targets/gmm_ops.hpp"
#include "simt/fiber_context.hpp"

namespace fs = flowsampler;
namespace fk = flowsampler::kernels;

namespace flowsampler::test::pairwise_body {

struct Case {
  std::size_t n, m;
  int d;
  unsigned block, permute;
};

template <class Real>
inline std::vector<Real> random_vec(std::size_t len, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g;
  std::vector<Real> v(len);
  for (auto& e : v) e = Real(g(rng));
  return v;
}

// Runs the body on fibers over column-major host arrays, as the CUDA launcher would.
template <fk::Reduction R, class Op, class Real>
void emulate(const Op& op, const Case& c, const std::vector<Real>& x, const std::vector<Real>& y,
             const std::vector<Real>& py, std::vector<Real>& out, std::vector<Real>& lse,
             std::vector<std::uint32_t>& idx, int k, bool skip_diagonal = false) {
  const int p = R == fk::Reduction::kmin ? k : Op::value_dim(c.d);
  out.assign(c.n * p, Real(-7));
  lse.assign(c.n, Real(-7));
  idx.assign(c.n * k, 7u);
  std::vector<double> carry(c.n * p);
  std::vector<Real> tacc(c.n * p);
  fk::PairwiseDeviceArgs<Real> a{x.data(), c.n, y.data(), py.data(), c.m, c.d, out.data(), lse.data(),
                                 idx.data(), k, carry.data(), tacc.data(), skip_diagonal};
  fk::dispatch_device_dim<Op, Real>(c.d, [&](auto dc) {  // the instantiation the CUDA launcher picks
    constexpr int D = decltype(dc)::value;
    using Body = fk::PairwiseBody<D, Op, R>;
    fs::simt::LaunchConfig cfg;
    cfg.block = c.block;
    cfg.grid = static_cast<unsigned>((c.n + c.block - 1) / c.block);
    cfg.shared_bytes = Body::template shared_bytes<Real>(c.block, c.d);
    cfg.permute_seed = c.permute;
    fs::simt::launch<Body>(cfg, op, a);
  });
}

inline const Case cases[] = {{1, 1, 1, 32, 0}, {37, 100, 3, 32, 5}, {70, 33, 2, 64, 9}, {16, 300, 8, 16, 3},
                      {20, 45, 5, 32, 2}, {9, 70, 65, 32, 1}};

// A random payload table for an op; positive, so that the 1/c entries are.
template <class Real, class Op, class C>
inline std::vector<Real> payload(const C& c) {
  std::vector<Real> py = random_vec<Real>(c.m * Op::payload_dim(c.d), 7);
  for (auto& e : py) e = Real(0.2 + std::fabs(double(e)));
  return py;
}

// The Gaussian-mixture ops (wide payload rows, value 2d + 2) on the emulated
// body, for isotropic or full covariances (one test file each: see above).
template <class Real, bool Full>
void check_gmm_ops() {
  const double tol = sizeof(Real) == 4 ? 1e-4 : 1e-11;
  const fs::Context ctx = fs::Context::create(fs::Backend::cpu, 0, 2);
  for (const Case& c : {Case{37, 9, 2, 32, 3}, Case{20, 70, 3, 32, 1}, Case{9, 5, 5, 16, 2}}) {
    const auto x = random_vec<Real>(c.n * c.d, 5 + c.n), y = random_vec<Real>(c.m * c.d, 6 + c.m);
    const auto X = fs::ParticleSet<Real>::from_column_major(ctx, x.data(), c.n, c.d);
    const auto Y = fs::ParticleSet<Real>::from_column_major(ctx, y.data(), c.m, c.d);
    auto check = [&](const auto& op) {
      using Op = std::decay_t<decltype(op)>;
      const std::vector<Real> py = payload<Real, Op>(c);
      std::vector<Real> out, lse;
      std::vector<std::uint32_t> idx;
      emulate<fk::Reduction::softmax>(op, c, x, y, py, out, lse, idx, 0);
      fs::ParticleSet<Real> ref(ctx, c.n, Op::value_dim(c.d)), ref_lse(ctx, c.n, 1);
      fs::pairwise::detail::run<fk::Reduction::softmax>(ctx, op, X, Y, py.data(), ref.data(), ref_lse.data());
      for (std::size_t e = 0; e < out.size(); ++e)
        ASSERT_NEAR(out[e], ref.data()[e], tol * (1 + std::fabs(double(out[e])))) << "entry " << e;
      for (std::size_t i = 0; i < c.n; ++i) ASSERT_NEAR(lse[i], ref_lse.data()[i], tol * (1 + std::fabs(double(lse[i]))));
    };
    // The lean ops (score alone, denoiser alone) give the same columns as the full one.
    auto same_columns = [&](auto full_c) {
      constexpr bool F = decltype(full_c)::value;
      using All = fk::GmmOp<Real, F>;
      const std::vector<Real> py = payload<Real, All>(c);
      fs::ParticleSet<Real> all(ctx, c.n, All::value_dim(c.d)), g(ctx, c.n, c.d), e(ctx, c.n, c.d), lse(ctx, c.n, 1);
      fs::pairwise::detail::run<fk::Reduction::softmax>(ctx, All{}, X, Y, py.data(), all.data(), lse.data());
      fs::pairwise::detail::run<fk::Reduction::softmax>(ctx, fk::GmmOp<Real, F, fk::GmmValues::score>{}, X, Y, py.data(),
                                                       g.data(), lse.data());
      fs::pairwise::detail::run<fk::Reduction::softmax>(ctx, fk::GmmOp<Real, F, fk::GmmValues::denoiser>{}, X, Y,
                                                       py.data(), e.data(), lse.data());
      for (std::size_t k = 0; k < c.n * c.d; ++k) {
        ASSERT_NEAR(g.data()[k], all.data()[k], tol * (1 + std::fabs(double(g.data()[k]))));
        ASSERT_NEAR(e.data()[k], all.data()[c.n * c.d + k], tol * (1 + std::fabs(double(e.data()[k]))));
      }
    };
    check(fk::GmmOp<Real, Full>{});
    check(fk::GmmOp<Real, Full, Full ? fk::GmmValues::denoiser : fk::GmmValues::score>{});
    same_columns(std::integral_constant<bool, Full>{});
  }
}


}  // namespace flowsampler::test::pairwise_body

