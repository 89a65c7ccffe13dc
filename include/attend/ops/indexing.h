// Lookups by integer index. Indices are IndexTensor (int64); an index out of range is a
// ValueError naming the index, never an out-of-bounds read.
#pragma once

#include "attend/core/tensor.h"

namespace attend {

// weight (V, D), indices (any shape) -> (*indices.shape, D): out[..., :] = weight[indices[...], :].
template <typename T>
Tensor<T> embedding(const Tensor<T>& weight, const IndexTensor& indices);

// x (..., n, ...) along `axis`, index (k) -> (..., k, ...): out[.., j, ..] = x[.., index[j], ..].
template <typename T>
Tensor<T> index_select(const Tensor<T>& x, int64_t axis, const IndexTensor& index);

// torch.gather: index has x's rank and, on every axis but `axis`, sizes no larger than x's;
// out has index's shape and out[i][j][k] = x[i][index[i][j][k]][k] (for axis 1).
template <typename T>
Tensor<T> gather(const Tensor<T>& x, int64_t axis, const IndexTensor& index);

}  // namespace attend
