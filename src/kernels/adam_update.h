// The Adam/AdamW update of float parameters, computed in double: Highway, dispatched at run time
// (AVX2: four elements per vector). Compiled without floating-point contraction, so that the
// x86 SIMD targets and the scalar loop give the same bits (Highway's emulated targets, EMU128
// and SCALAR, clamp an overflowing double to FLT_MAX where a cast gives infinity).
#pragma once

#include <cstdint>

namespace attend::kernels {

// Constants of one parameter's update at step t (train/optimizer.cc derives them):
//   step_size = lr / (1 - beta1^t),  bias_correction2_sqrt = sqrt(1 - beta2^t)
struct AdamConstants {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double step_size = 0;
  double bias_correction2_sqrt = 1;
  double weight_decay = 0;
  double decay_factor = 1;  // 1 - lr * weight_decay, for AdamW
  bool decoupled = false;   // AdamW: decay p itself; Adam: add weight_decay * p to g
};

// For e < n, in double, then rounded back to float:
//   Adam:   g' = g + weight_decay * p              (when weight_decay != 0)
//   AdamW:  p' = p * decay_factor                  (when weight_decay != 0)
//   m = beta1 * m + (1 - beta1) * g'
//   v = beta2 * v + (1 - beta2) * g' * g'
//   p = p' - step_size * m / (sqrt(v) / bias_correction2_sqrt + eps)
void adam_update(const AdamConstants& c, float* parameter, const float* gradient, float* first_moment,
                 float* second_moment, int64_t n);

}  // namespace attend::kernels
