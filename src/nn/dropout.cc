#include "attend/nn/dropout.h"

#include "attend/core/error.h"
#include "attend/ops/dropout.h"

namespace attend::nn {

template <typename T>
Dropout<T>::Dropout(double p, Generator& generator) : p_(p), seeds_(generator.next_u64()) {
  ATTEND_CHECK(p >= 0.0 && p < 1.0, ValueError, "Dropout: p must be in [0, 1), got {}", p);
  this->register_generator("dropout_seeds", seeds_);
}

template <typename T>
Tensor<T> Dropout<T>::forward(const Tensor<T>& x) {
  if (!this->is_training() || p_ == 0.0) return x;
  return dropout(x, p_, seeds_.next_u64(), /*training=*/true);
}

template class Dropout<float>;
template class Dropout<double>;

}  // namespace attend::nn
