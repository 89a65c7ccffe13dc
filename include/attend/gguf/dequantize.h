// ggml's block formats widened to float32, value for value as gguf-py (llama.cpp's Python
// package) computes them: the block's scales are widened from float16 first, then each value is
// d * q (+ m, or - dmin * m) in float32, without fused multiply-adds.
//
//   Q8_0  34 bytes / 32 values: f16 d | int8 q[32]                  x = d * q
//   Q4_0  18 bytes / 32 values: f16 d | 16 bytes of nibbles         x = d * (q - 8)
//   Q4_1  20 bytes / 32 values: f16 d | f16 m | 16 bytes of nibbles x = d * q + m
//   Q5_0  22 bytes / 32 values: f16 d | uint32 high bits | nibbles  x = d * (q - 16)
//   Q5_1  24 bytes / 32 values: f16 d | f16 m | uint32 high bits | nibbles  x = d * q + m
//     (nibbles: byte j holds value j in its low half and value j + 16 in its high half)
//   Q4_K 144 bytes / 256 values: f16 d | f16 dmin | 12 bytes of 6-bit scales and mins |
//        128 bytes of nibbles; 8 sub-blocks of 32: x = (d * sc) * q - (dmin * m)
//   Q5_K 176 bytes / 256 values: as Q4_K with 32 bytes of fifth bits before the nibbles
//   Q6_K 210 bytes / 256 values: 128 bytes low nibbles | 64 bytes high 2 bits |
//        int8 scales[16] | f16 d; 16 sub-blocks of 16: x = (d * scale) * (q - 32)
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "attend/gguf/gguf_file.h"

namespace attend::gguf {

// Converts `blocks` (whole blocks of `type`) to float32: out.size() values, which must be
// blocks.size() / block bytes * block elements. Throws ValueError on sizes that disagree, and
// FormatError for a type can_dequantize() refuses.
void dequantize(TensorType type, std::span<const std::byte> blocks, std::span<float> out);

}  // namespace attend::gguf
