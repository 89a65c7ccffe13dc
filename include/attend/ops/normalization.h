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

// "Add & norm" after a linear layer computed without its bias, in one pass over the rows:
//   layer_norm(s), s = (x + residual) + addend   (float adds in that order; s is never stored)
// x and residual (..., *normalized_shape); addend (*normalized_shape) added to every row, or
// undefined; weight and bias as layer_norm's. All differentiable.
template <typename T>
Tensor<T> add_layer_norm(const Tensor<T>& x, const Tensor<T>& residual, const Tensor<T>& addend,
                         const Shape& normalized_shape, const Tensor<T>& weight = Tensor<T>(),
                         const Tensor<T>& bias = Tensor<T>(), double eps = 1e-5);

// Root-mean-square normalization (Zhang & Sennrich 2019), as LLaMA-family decoders use it:
//
//   r = 1 / sqrt(mean(x^2) + eps) over the last axis;  y = weight * (x * r)
//
// x (..., D); weight (D) or undefined (1). The mean is summed in double. Differentiable.
template <typename T>
Tensor<T> rms_norm(const Tensor<T>& x, const Tensor<T>& weight = Tensor<T>(), double eps = 1e-6);

}  // namespace attend
