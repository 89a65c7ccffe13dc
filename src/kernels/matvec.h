// Matrix-vector products for decoding: a few activation rows against a weight matrix that is
// read once from memory (BLAS's gemm would pack the whole matrix at every call, reading and
// writing it again: at one row that costs more than the product).
//
//   y[b][o] = sum_i W[o][i] x[b][i]      W (out, in) row-major, x (batch, in), y (batch, out)
//
// Each y[b][o] is summed in one fixed order (SIMD lanes over i, then the lanes, then the tail),
// whatever the batch, the thread count or the rows computed beside it: decoding a sequence alone
// or in a batch gives the same bits. Rows are split across threads (parallel_for); four rows
// share each load of x. The roof is memory bandwidth: out x in x 4 bytes of W per call.
#pragma once

#include <cstdint>

namespace attend::kernels {

void matvec_rows(const float* w, int64_t out, int64_t in, const float* x, int64_t batch, float* y);

}  // namespace attend::kernels
