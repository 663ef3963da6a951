#include "cpu/kernels.hpp"

#include <cblas.h>

#include <atomic>
#include <vector>

#include "cpu/radix_sort.hpp"

// OpenBLAS's own thread count (declared here: cblas.h may be another BLAS's).
extern "C" void openblas_set_num_threads(int);

namespace flowsampler::cpu {

namespace {

// Multiply-adds below which a product runs on one thread.
constexpr double min_parallel_flops = double(1 << 24);

void set_blas_threads(int threads) {
  static std::atomic<int> current{0};
  if (current.exchange(threads) != threads) openblas_set_num_threads(threads);
}

CBLAS_TRANSPOSE op(bool t) { return t ? CblasTrans : CblasNoTrans; }
void blas(const detail::Gemm<float>& g) {
  cblas_sgemm(CblasColMajor, op(g.trans_a), op(g.trans_b), g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, g.c,
              g.ldc);
}
void blas(const detail::Gemm<double>& g) {
  cblas_dgemm(CblasColMajor, op(g.trans_a), op(g.trans_b), g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, g.c,
              g.ldc);
}
}  // namespace

template <class Real>
void gemm(const detail::Gemm<Real>& g, int threads) {
  set_blas_threads(2.0 * g.m * g.n * g.k >= min_parallel_flops ? threads : 1);
  blas(g);
}

template <class Real>
void sort_segments(Real* keys, std::size_t segments, std::size_t length, int threads) {
  const long long s = static_cast<long long>(segments);
#pragma omp parallel num_threads(threads) if (segments > 1)
  {
    std::vector<SortKey<Real>> scratch;
#pragma omp for schedule(dynamic, 1)
    for (long long c = 0; c < s; ++c) radix_sort(keys + static_cast<std::size_t>(c) * length, length, scratch);
  }
}

template void gemm<float>(const detail::Gemm<float>&, int);
template void gemm<double>(const detail::Gemm<double>&, int);
template void sort_segments<float>(float*, std::size_t, std::size_t, int);
template void sort_segments<double>(double*, std::size_t, std::size_t, int);

}  // namespace flowsampler::cpu
