// The per-row loops of layer normalization over float rows of length d, statistics in double:
// Highway, dispatched at run time. ops/normalization.cc owns the op (shapes, autograd, the
// column sums of dw and db) and calls these on its blocks of rows.
#pragma once

#include <cstdint>

namespace attend::kernels {

// For each row r < rows of x (rows, d):
//   mu = mean(x_r),  rstd_r = 1 / sqrt(mean((x_r - mu)^2) + eps)
//   xhat_r = (x_r - mu) * rstd_r,  out_r = xhat_r * gamma + beta
// The sums run over a fixed number of vector lanes and then across them in a fixed order: the
// same bits for any split of the rows.
void layer_norm_forward_rows(const float* x, const float* gamma, const float* beta, int64_t rows, int64_t d, double eps,
                             float* out, float* xhat, float* rstd);

// The input gradient, for each row (forward above):
//   dxhat = dy * gamma
//   dx    = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
void layer_norm_backward_rows(const float* dy, const float* xhat, const float* gamma, const float* rstd, int64_t rows,
                              int64_t d, float* dx);

}  // namespace attend::kernels
