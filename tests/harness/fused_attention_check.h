// Mode (e) of the harness (op_harness.h): the fused ("flash") attention kernels against float64,
// on every SIMD target. A case is one call of scaled_dot_product_attention; the harness runs it
//   - in float64 on the reference path: the ground truth (that path is checked against the loops
//     of tests/attention/attention_reference.h by scaled_dot_product_random_test, and by finite
//     differences in scaled_dot_product_test);
//   - in float32 on the reference path, once: the "naive" float32 error is the yardstick;
//   - in float32 on the fused kernels (forward or split-K decode, and backward), once per SIMD
//     target Highway compiled and this CPU runs, with dispatch pinned to it (simd_targets.h);
// and compares the output, the weights and the log-sum-exp when the options ask for them and,
// when the case has an output gradient, dq, dk, dv and d_additive. Every quantity must
//   (1) be NaN or infinite exactly where float64 is;
//   (2) have an RMS error <= naive_ratio * (naive float32 RMS error) + rms_floor * scale;
//   (3) be within max_error * max(1, max |float64|) of float64 at every element.
// scale is max(1, RMS of the float64 values) for the output, weights and log-sum-exp; for the
// gradients it is the largest RMS of any float64 gradient of the case or RMS(dO) RMS(V)
// sqrt(D_v), the size of the terms dS = P (dP - delta) cancels: a gradient that is 0 in exact
// arithmetic (one key per row) is a difference of rounded terms of that size. The floor is for
// cases where the naive path happens to be exact.
// A failure names the case, its shapes and options, the target, the quantity, the RMS errors and
// the worst element with its index.
#pragma once

#include <string>

#include "attend/attend.h"
#include "harness/op_harness.h"

namespace attend::testing {

struct FusedAttentionCase {
  std::string name;                 // e.g. "trial 17"; messages add the shapes and options
  Tensor64 query;                   // (B, H, N, D)
  Tensor64 key;                     // (B, H_kv, M, D)
  Tensor64 value;                   // (B, H_kv, M, D_v)
  Tensor64 additive_mask;           // broadcastable to (B, H, N, M), or undefined; differentiated
  Tensor64 output_gradient;         // (B, H, N, D_v); when defined the backward is checked too
  AttentionOptions<float> options;  // the rest; its additive_mask and implementation are ignored
};
// Every tensor is rounded to float32 once, so that the three runs see the same values.

struct FusedTolerance {
  double naive_ratio;  // (2): RMS error <= naive_ratio * naive RMS error + rms_floor * scale
  double rms_floor;
  double max_error;  // (3): |fused - float64| <= max_error * max(1, max |float64|)
};
inline constexpr FusedTolerance kFusedForwardTolerance{2, 1e-7, 2e-5};   // output, weights, log-sum-exp
inline constexpr FusedTolerance kFusedGradientTolerance{3, 1e-6, 5e-5};  // dq, dk, dv, d_additive

// (1)-(3) on every SIMD target.
CheckResult check_fused_attention(const FusedAttentionCase& c);
// The fused run with 1 and with 2 threads, on every SIMD target: bitwise the same.
CheckResult check_fused_thread_invariance(const FusedAttentionCase& c);

// The same options for a float64 call (masks shared, float tensors cast; implementation kAuto).
AttentionOptions<double> options_in_double(const AttentionOptions<float>& o);
// "B=1 H=2 H_kv=1 N=7 M=65 D=16 D_v=24 causal bottom-right ...": the shapes and the options set.
std::string describe(const FusedAttentionCase& c);

}  // namespace attend::testing
