// Inverted dropout applied straight from a Philox stream, recording the keep mask as bytes for
// the backward to reapply. Highway, dispatched at run time.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/philox.h"

namespace attend::kernels {

// dropout_keeps(draw, p) as an integer test on the draw's top 24 bits:
//   uniform_float_from_bits(draw) = (draw >> 8) / 2^24 >= p  <=>  (draw >> 8) >= ceil(p * 2^24)
// exact, since draw >> 8 is an integer below 2^24 and p * 2^24 is p scaled by a power of two.
inline uint32_t dropout_keep_threshold(double p) { return static_cast<uint32_t>(std::ceil(p * 16777216.0)); }

// For e < n, with draw(q) = word q % 4 of Philox block q / 4 of (key, counter_high):
//   out[e] = in[e] * (dropout_keeps(draw(first + e), p) ? kept_scale : 0)
// and keep[e] = 1 where kept, 0 where dropped (keep may be null: no mask recorded). A dropped
// NaN or infinity gives NaN (x * 0). in and out may be the same array.
void dropout_multiply(uint64_t key, uint64_t counter_high, uint64_t first, int64_t n, double p, float kept_scale,
                      const float* in, float* out, uint8_t* keep);

// out[e] = in[e] * (keep[e] ? kept_scale : 0) for e < n: a recorded mask reapplied (the
// backward of dropout_multiply). in and out may be the same array.
void multiply_by_keep_bytes(const uint8_t* keep, int64_t n, float kept_scale, const float* in, float* out);

}  // namespace attend::kernels
