// The float64 passes of a sampler's softmax over a whole vocabulary (sampling/sampler.h),
// vectorized with Highway and dispatched at run time. Each element is computed on its own, so
// the results do not depend on how the vectors tile the array.
//
//   widen_logits(l, n, x) : x_i = (double) l_i; returns whether every l_i is finite or -inf
//                           (no NaN, no +inf) and sets *any_finite
//   largest(x, n)         = max_i x_i, n >= 1; exact (a maximum does not round)
//   exp_scaled_shifted(x, n, m, c) : x_i <- exp((x_i - m) c), Highway's Exp (within 1 ulp of the
//                           correctly rounded value); x_i = -inf (a masked token) gives 0.
//                           NaN is never passed (widen_logits refuses it first).
#pragma once

#include <cstdint>

namespace attend::kernels {

bool widen_logits(const float* logits, int64_t n, double* x, bool* any_finite);
double largest(const double* x, int64_t n);
void exp_scaled_shifted(double* x, int64_t n, double shift, double scale);

}  // namespace attend::kernels
