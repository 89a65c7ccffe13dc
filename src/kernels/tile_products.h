// The matrix products of the fused attention kernels, register-blocked (Highway, dispatched at
// run time), so that no operand is re-packed per tile. One operand of the A B^T products (the
// keys, or the values) is packed once per head into panels of W rows stored column by column;
// every other operand is read in place, one element broadcast at a time from A, whole rows of
// vectors from B.
//
//   forward:   S = Q K_j^T                  times_packed_transposed (K packed)
//              O += P V_j                   accumulate_product
//   backward:  S = Q K_j^T, dP = dO V_j^T   times_packed_transposed (K, V packed)
//              dV_j += P^T dO, dK_j += dS^T Q, dQ += dS K_j
//                                           accumulate_product (A transposed by its strides)
//
// Each output element is one chain of the target's multiply-adds (fused where it has FMA) in
// index order: the same bits for any split of the work on a given target. Blocks of 6 rows by 2 vectors of columns (6 x
// 16 on AVX2) keep 12 accumulators in registers.
#pragma once

#include <cstdint>

namespace attend::kernels {

// Rows per packed panel, W: two vectors of the run-time target (16 on AVX2, 32 on AVX-512).
int64_t panel_width();

// Floats pack_panels writes for `count` rows of length d.
int64_t packed_panels_size(int64_t count, int64_t d);

// packed[(p d + e) W + w] = x[(p W + w) ldx + e] for each panel p, e < d, w < W; 0 for rows at
// or past `count`.
void pack_panels(const float* x, int64_t ldx, int64_t count, int64_t d, float* packed);

// s[r lds + c] = sum_{e < d} a[r lda + e] * x[(j0 + c) ldx + e] for r < rows, c < cols, with x
// as packed by pack_panels; j0 must be a multiple of panel_width().
void times_packed_transposed(const float* a, int64_t lda, int64_t rows, const float* packed, int64_t j0, int64_t cols,
                             int64_t d, float* s, int64_t lds);

// c[r ldc + n] += sum_{j < inner} A(r, j) * b[j ldb + n] for r < rows, n < columns, where
// A(r, j) = a[r a_row_stride + j a_col_stride]: (ld, 1) for A itself, (1, ld) for a transposed
// view of a row-major matrix.
void accumulate_product(const float* a, int64_t a_row_stride, int64_t a_col_stride, int64_t rows, int64_t inner,
                        const float* b, int64_t ldb, int64_t columns, float* c, int64_t ldc);

}  // namespace attend::kernels
