// Linear layer: y = x W^T + b.
#pragma once

#include "attend/core/random.h"
#include "attend/nn/module.h"

namespace attend::nn {

template <typename T>
class Linear : public Module<T> {
 public:
  // weight (out_features, in_features) and bias (out_features) drawn from
  // U(-1/sqrt(in_features), 1/sqrt(in_features)), PyTorch's default.
  Linear(int64_t in_features, int64_t out_features, bool bias, Generator& generator);

  // x (..., in_features) -> (..., out_features).
  Tensor<T> forward(const Tensor<T>& x) const;

  int64_t in_features() const { return weight_.size(1); }
  int64_t out_features() const { return weight_.size(0); }
  const Tensor<T>& weight() const { return weight_; }  // (out_features, in_features)
  const Tensor<T>& bias() const { return bias_; }      // (out_features) or undefined

 private:
  Tensor<T> weight_;
  Tensor<T> bias_;
};

extern template class Linear<float>;
extern template class Linear<double>;

}  // namespace attend::nn
