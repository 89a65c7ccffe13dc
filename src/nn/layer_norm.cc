#include "attend/nn/layer_norm.h"

#include "attend/core/error.h"
#include "attend/ops/normalization.h"

namespace attend::nn {

template <typename T>
LayerNorm<T>::LayerNorm(Shape normalized_shape, double eps, bool elementwise_affine, bool bias)
    : normalized_shape_(std::move(normalized_shape)), eps_(eps) {
  bool positive = !normalized_shape_.empty();
  for (int64_t size : normalized_shape_) positive = positive && size > 0;
  ATTEND_CHECK(positive, ShapeError, "LayerNorm: normalized_shape {} must be non-empty with positive sizes",
               shape_string(normalized_shape_));
  ATTEND_CHECK(eps >= 0, ValueError, "LayerNorm: eps must be non-negative, got {}", eps);
  if (!elementwise_affine) return;
  weight_ = this->register_parameter("weight", Tensor<T>::ones(normalized_shape_));
  if (bias) bias_ = this->register_parameter("bias", Tensor<T>::zeros(normalized_shape_));
}

template <typename T>
Tensor<T> LayerNorm<T>::forward(const Tensor<T>& x) const {
  return layer_norm(x, normalized_shape_, weight_, bias_, eps_);
}

template class LayerNorm<float>;
template class LayerNorm<double>;

}  // namespace attend::nn
