// Layer normalization (Ba, Kiros & Hinton 2016).
//
//   mu = mean(x), var = mean((x - mu)^2) over the last axes given by normalized_shape
//   y  = (x - mu) / sqrt(var + eps) * weight + bias
#pragma once

#include "attend/core/tensor.h"

namespace attend {

// x (..., *normalized_shape); weight and bias (*normalized_shape) or undefined (1 and 0).
template <typename T>
Tensor<T> layer_norm(const Tensor<T>& x, const Shape& normalized_shape, const Tensor<T>& weight = Tensor<T>(),
                     const Tensor<T>& bias = Tensor<T>(), double eps = 1e-5);

}  // namespace attend
