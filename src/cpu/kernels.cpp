#include "cpu/kernels.hpp"

#include <cblas.h>

#include <vector>

#include "cpu/radix_sort.hpp"

namespace flowsampler::cpu {

namespace {
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
void gemm(const detail::Gemm<Real>& g) {
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

template void gemm<float>(const detail::Gemm<float>&);
template void gemm<double>(const detail::Gemm<double>&);
template void sort_segments<float>(float*, std::size_t, std::size_t, int);
template void sort_segments<double>(double*, std::size_t, std::size_t, int);

}  // namespace flowsampler::cpu
