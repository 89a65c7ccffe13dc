// Joining and splitting tensors along an axis.
#pragma once

#include <vector>

#include "attend/core/tensor.h"

namespace attend {

// Joins tensors that agree on every axis but `axis`.
template <typename T>
Tensor<T> concat(const std::vector<Tensor<T>>& tensors, int64_t axis);
// Views of consecutive pieces of x along `axis` with the given sizes (summing to x.size(axis)).
template <typename T>
std::vector<Tensor<T>> split(const Tensor<T>& x, const std::vector<int64_t>& sizes, int64_t axis);
// Joins tensors of one shape along a new axis.
template <typename T>
Tensor<T> stack(const std::vector<Tensor<T>>& tensors, int64_t axis);

}  // namespace attend
