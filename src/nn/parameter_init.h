// Internal: the initial draws of nn parameters, shared by the modules that cite the same default.
#pragma once

#include <cmath>
#include <cstdint>

#include "attend/core/random.h"
#include "attend/core/tensor.h"

namespace attend::nn {

// U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's default for Linear and Conv2d.
template <typename T>
Tensor<T> fan_in_uniform(const Shape& shape, int64_t fan_in, Generator& generator) {
  const T bound = static_cast<T>(1.0 / std::sqrt(static_cast<double>(fan_in)));
  return Tensor<T>::uniform(shape, -bound, bound, generator);
}

// N(0, std^2) entries in row-major order; a fresh leaf, ready for register_parameter.
template <typename T>
Tensor<T> normal_table(const Shape& shape, double std, Generator& generator) {
  Tensor<T> table = Tensor<T>::randn(shape, generator);
  T* values = table.data();
  for (int64_t i = 0, n = table.numel(); i < n; ++i) values[i] = static_cast<T>(values[i] * std);
  return table;
}

}  // namespace attend::nn
