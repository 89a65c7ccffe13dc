// SwiGLU's forward over float arrays, vectorized (Highway, dispatched at run time):
//
//   out[e] = silu(g) * u = g / (1 + exp(-g)) * u,   g = gate[e], u = up[e]
//
// exp is Highway's (within a few ulp of the correctly rounded value), with -g clamped to
// [-88, 88] so that it neither overflows nor loses a large negative g: there silu(g) is g exp(g)
// to float precision, i.e. 0 below about -88. NaN in gate or up stays NaN.
#pragma once

#include <cstdint>

namespace attend::kernels {

void swiglu_forward(const float* gate, const float* up, int64_t n, float* out);

}  // namespace attend::kernels
