// Dropout layer (Srivastava et al. 2014), inverted as in ops/dropout.h: in training mode each
// element is zeroed with probability p and the rest are scaled by 1 / (1 - p); in evaluation
// mode the layer is the identity.
//
// Reproducibility: the layer owns a Generator seeded once from the constructor's generator.
// Every training-mode forward draws the next 64-bit seed from it for one Philox mask, so the
// same construction seed gives the same sequence of masks, call after call, on any thread count.
#pragma once

#include "attend/core/random.h"
#include "attend/nn/module.h"

namespace attend::nn {

template <typename T>
class Dropout : public Module<T> {
 public:
  // p in [0, 1).
  Dropout(double p, Generator& generator);

  // x (any shape) -> same shape. Advances the seed stream only in training mode with p > 0.
  Tensor<T> forward(const Tensor<T>& x);

  double p() const { return p_; }

 private:
  double p_;
  Generator seeds_;
};

extern template class Dropout<float>;
extern template class Dropout<double>;

}  // namespace attend::nn
