// Vector primitives of the fused attention kernels (Highway, dispatched at run time to the best
// target the CPU has: AVX2, AVX-512, ...). Each is tested against a double-precision loop over
// lengths 0..130, aligned and not.
#pragma once

#include <cstdint>

namespace attend::kernels {

// x[i] *= scale for i < n; returns max_i x[i] (-inf for n = 0). A NaN may or may not win the
// maximum; exp_and_sum keeps it in the row either way.
float scale_and_max(float* x, int64_t n, float scale);

// x[i] = exp(x[i] - max) for i < n and returns the sum, accumulated lane-wise then across lanes
// in a fixed order (so the result does not depend on threads). exp(-inf) = 0; NaN stays NaN.
float exp_and_sum(float* x, int64_t n, float max);

// max_i x[i], reading only (-inf for n = 0).
float row_max(const float* x, int64_t n);

// x[i] = exp(x[i] * scale - max) and returns the sum (as exp_and_sum): one pass over raw dot
// products when nothing but the scale stands between them and the softmax.
float exp_scaled_and_sum(float* x, int64_t n, float scale, float max);

// x[i] *= scale.
void scale_row(float* x, int64_t n, float scale);

// y[i] += a * x[i] (one fused multiply-add per element where the target has FMA).
void add_scaled_row(float* y, const float* x, int64_t n, float a);

// p[i] = exp(s[i] * scale - lse) (probabilities recomputed from the log-sum-exp); NaN stays NaN.
// s and p must not overlap; the in-place form overwrites x = s with p.
void exp_scaled_minus(const float* s, float* p, int64_t n, float scale, float lse);
void exp_scaled_minus_in_place(float* x, int64_t n, float scale, float lse);

// ds[i] = p[i] * (dp[i] - delta): the softmax backward, with delta = sum_j dO_j O_j. The rows
// must not overlap; the in-place form overwrites dp with ds.
void softmax_backward_row(const float* p, const float* dp, float* ds, int64_t n, float delta);
void softmax_backward_row_in_place(const float* p, float* dp, int64_t n, float delta);

// sum_i a[i] * b[i], accumulated as exp_and_sum does.
float dot(const float* a, const float* b, int64_t n);

// The instruction set chosen at run time, e.g. "AVX2".
const char* simd_target_name();

}  // namespace attend::kernels
