// Activation functions as layers: parameter-free modules over the element-wise ops of
// ops/elementwise.h, for models assembled from layers. Each maps x (any shape) to its shape.
#pragma once

#include "attend/nn/module.h"
#include "attend/ops/elementwise.h"

namespace attend::nn {

// max(x, 0)
template <typename T>
class ReLU : public Module<T> {
 public:
  Tensor<T> forward(const Tensor<T>& x) const { return relu(x); }
};

// x Phi(x), the exact GELU (Hendrycks & Gimpel 2016)
template <typename T>
class GELU : public Module<T> {
 public:
  Tensor<T> forward(const Tensor<T>& x) const { return gelu(x); }
};

template <typename T>
class Tanh : public Module<T> {
 public:
  Tensor<T> forward(const Tensor<T>& x) const { return tanh(x); }
};

// 1 / (1 + exp(-x))
template <typename T>
class Sigmoid : public Module<T> {
 public:
  Tensor<T> forward(const Tensor<T>& x) const { return sigmoid(x); }
};

}  // namespace attend::nn
