// GELU with the exact (erf) definition, vectorized over float arrays: Highway, dispatched at run
// time. erf comes from Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7, the rule
// PyTorch's vectorized CPU erf uses too):
//   erf(z) = 1 - (a1 t + a2 t^2 + a3 t^3 + a4 t^4 + a5 t^5) exp(-z^2),  t = 1 / (1 + p z),  z >= 0
// and for x < 0 the cumulative Phi(x) = (1 + erf(x / sqrt 2)) / 2 is taken as the polynomial
// times exp directly, without forming 1 - erf. The bound is absolute: far left, where Phi is
// tiny, the relative error grows (about 0.2% at x = -5, a few percent at x = -10), which moves
// x Phi(x) by less than 1.5e-7 |x|.
#pragma once

#include <cstdint>

namespace attend::kernels {

// out[e] = x Phi(x) for x = in[e], e < n.
void gelu_forward(const float* in, int64_t n, float* out);

// dx[e] = g[e] * (Phi(x) + x phi(x)), phi(x) = exp(-x^2 / 2) / sqrt(2 pi), x = in[e].
void gelu_backward(const float* in, const float* g, int64_t n, float* dx);

// The same with x = in[e] + bias[e] (one float add; bias of n values, e.g. a row's biases).
void gelu_forward_bias(const float* in, const float* bias, int64_t n, float* out);
void gelu_backward_bias(const float* in, const float* bias, const float* g, int64_t n, float* dx);

}  // namespace attend::kernels
