// Reductions over axes. Sums accumulate in double, in index order, so a result does not depend
// on the thread count.
#pragma once

#include <vector>

#include "attend/core/tensor.h"

namespace attend {

// Sum over `axes` (negative axes count from the end; duplicates are an error). With keepdim the
// reduced axes stay with size 1. An empty `axes` list reduces nothing.
template <typename T>
Tensor<T> sum(const Tensor<T>& x, const std::vector<int64_t>& axes, bool keepdim = false);
// Sum of every element, as a rank-0 tensor.
template <typename T>
Tensor<T> sum(const Tensor<T>& x);
// Mean over `axes` (NaN when the reduced extent is 0, as 0/0).
template <typename T>
Tensor<T> mean(const Tensor<T>& x, const std::vector<int64_t>& axes, bool keepdim = false);
template <typename T>
Tensor<T> mean(const Tensor<T>& x);
// Sums a broadcast tensor back to `shape` (the adjoint of expand); `x` must broadcast from it.
template <typename T>
Tensor<T> sum_to(const Tensor<T>& x, const Shape& shape);
// Maximum over one axis (not differentiable; NaN wins).
template <typename T>
Tensor<T> max(const Tensor<T>& x, int64_t axis, bool keepdim = false);

}  // namespace attend
