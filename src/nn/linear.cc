#include "attend/nn/linear.h"

#include <cmath>

#include "attend/ops/elementwise.h"
#include "attend/ops/matmul.h"

namespace attend::nn {

template <typename T>
Linear<T>::Linear(int64_t in_features, int64_t out_features, bool bias, Generator& generator) {
  ATTEND_CHECK(in_features > 0 && out_features > 0, ValueError, "Linear: features must be positive, got in={} out={}",
               in_features, out_features);
  const T bound = T(1) / std::sqrt(static_cast<T>(in_features));
  const auto draw = [&](const Shape& shape) {
    return SkipParameterInit::active() ? Tensor<T>::zeros(shape) : Tensor<T>::uniform(shape, -bound, bound, generator);
  };
  weight_ = this->register_parameter("weight", draw({out_features, in_features}));
  if (bias) bias_ = this->register_parameter("bias", draw({out_features}));
}

template <typename T>
Tensor<T> Linear<T>::forward(const Tensor<T>& x) const {
  ATTEND_CHECK(x.rank() >= 1 && x.size(-1) == in_features(), ShapeError,
               "Linear: input {} must end with in_features = {}", shape_string(x.shape()), in_features());
  // x (..., in) @ W^T (in, out) + b (out): one op, the bias written into the output before BLAS
  // accumulates onto it (ops/matmul.h).
  return linear(x, weight_, bias_);
}

template class Linear<float>;
template class Linear<double>;

}  // namespace attend::nn
