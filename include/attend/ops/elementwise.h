// Element-wise ops with NumPy broadcasting. All are differentiable (float and double).
#pragma once

#include <type_traits>

#include "attend/core/tensor.h"

namespace attend {

// out = a (op) b, broadcast to broadcast_shapes(a.shape, b.shape).
template <typename T>
Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b);
template <typename T>
Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b);
template <typename T>
Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b);
template <typename T>
Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b);

// out = x + s, out = x * s.
template <typename T>
Tensor<T> add_scalar(const Tensor<T>& x, std::type_identity_t<T> s);
template <typename T>
Tensor<T> mul_scalar(const Tensor<T>& x, std::type_identity_t<T> s);

template <typename T>
Tensor<T> neg(const Tensor<T>& x);
template <typename T>
Tensor<T> square(const Tensor<T>& x);
template <typename T>
Tensor<T> sqrt(const Tensor<T>& x);
template <typename T>
Tensor<T> exp(const Tensor<T>& x);
template <typename T>
Tensor<T> log(const Tensor<T>& x);
template <typename T>
Tensor<T> tanh(const Tensor<T>& x);
// 1 / (1 + exp(-x)), evaluated without overflow for large |x|.
template <typename T>
Tensor<T> sigmoid(const Tensor<T>& x);
// max(x, 0); NaN stays NaN.
template <typename T>
Tensor<T> relu(const Tensor<T>& x);
// x * Phi(x) with Phi the standard normal CDF (the exact GELU of Hendrycks & Gimpel 2016).
template <typename T>
Tensor<T> gelu(const Tensor<T>& x);

// gelu(x + bias) in one pass, bias (D) added to every row of x (..., D): the activation after a
// linear layer computed without its bias. The same bits as gelu(add(x, bias)).
template <typename T>
Tensor<T> bias_gelu(const Tensor<T>& x, const Tensor<T>& bias);

// The gated unit of LLaMA's feed-forward layer (Shazeer 2020, "GLU variants improve
// transformer"): swiglu(gate, up) = silu(gate) * up, silu(g) = g * sigmoid(g). gate and up of one
// shape; differentiable in both.
template <typename T>
Tensor<T> swiglu(const Tensor<T>& gate, const Tensor<T>& up);

template <typename T>
Tensor<T> operator+(const Tensor<T>& a, const Tensor<T>& b) {
  return add(a, b);
}
template <typename T>
Tensor<T> operator-(const Tensor<T>& a, const Tensor<T>& b) {
  return sub(a, b);
}
template <typename T>
Tensor<T> operator*(const Tensor<T>& a, const Tensor<T>& b) {
  return mul(a, b);
}
template <typename T>
Tensor<T> operator/(const Tensor<T>& a, const Tensor<T>& b) {
  return div(a, b);
}
template <typename T>
Tensor<T> operator-(const Tensor<T>& x) {
  return neg(x);
}

}  // namespace attend
