// Layer normalization layer (Ba, Kiros & Hinton 2016), as torch.nn.LayerNorm:
//
//   y = (x - mean(x)) / sqrt(var(x) + eps) * weight + bias
//
// with mean and (biased) variance over the trailing normalized_shape axes (ops/normalization.h).
#pragma once

#include "attend/nn/module.h"

namespace attend::nn {

template <typename T>
class LayerNorm : public Module<T> {
 public:
  // With elementwise_affine: weight (*normalized_shape) = 1 and, if bias, bias (*normalized_shape)
  // = 0, PyTorch's initialization; without it the layer has no parameters.
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true, bool bias = true);

  // x (..., *normalized_shape) -> same shape.
  Tensor<T> forward(const Tensor<T>& x) const;

  const Shape& normalized_shape() const { return normalized_shape_; }
  double eps() const { return eps_; }
  const Tensor<T>& weight() const { return weight_; }  // (*normalized_shape) or undefined
  const Tensor<T>& bias() const { return bias_; }      // (*normalized_shape) or undefined

 private:
  Shape normalized_shape_;
  double eps_;
  Tensor<T> weight_;  // (*normalized_shape) or undefined
  Tensor<T> bias_;    // (*normalized_shape) or undefined
};

extern template class LayerNorm<float>;
extern template class LayerNorm<double>;

}  // namespace attend::nn
