// Matrix products through BLAS (sgemm/dgemm of single-threaded BLIS, on attend's threads).
#pragma once

#include "attend/core/tensor.h"

namespace attend {

// a (..., M, K) @ b (..., K, N) -> (..., M, N). Both operands have rank >= 2; the leading
// (batch) axes broadcast as in NumPy. Transposed views are passed to BLAS without a copy.
template <typename T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b);

}  // namespace attend
