// GGML's block formats and activations quantized to int8 per block, as llama.cpp computes them
// (the products: quantized_groups.h).
//
// Weights, W (out, in), in = 32 * blocks; row o, block j covers columns 32j .. 32j + 31 (a GGUF
// file's blocks, row after row, before quantized_groups.h rearranges them):
//
//   Q8_0  34 bytes: d (f16) | 32 int8 q_i                   w_i = d * q_i
//   Q4_0  18 bytes: d (f16) | 16 bytes b_k, k < 16:         w_i = d * (n_i - 8)
//   Q4_1  20 bytes: d (f16) | m (f16) | the same 16 bytes:  w_i = d * n_i + m
//           n_k = b_k & 15 (columns 0..15), n_{k+16} = b_k >> 4 (columns 16..31)
//
//   byte:   0   1   2  ...  15                    (one Q4 block: 16 bytes, 32 columns)
//         [n0 |n16][n1 |n17] ... [n15|n31]        low nibble | high nibble
//
// Activations, x (batch, in): each row's blocks quantized to int8, as llama.cpp's q8 rows:
//
//   a = max_i |x_i|,  s = a / 127,  q_i = round_half_even(x_i * (1 / s))  in [-127, 127]
//   (s = 0: q = 0; a block holding NaN or Inf: s = NaN, so that its products stay NaN, and its
//   codes and sum 0)
//   sums[b][j] = sum_i q_i,  scaled_sums[b][j] = s * sums[b][j] (rounded to float)
#pragma once

#include <cstdint>

namespace attend::kernels {

enum class QuantFormat { q8_0, q4_0, q4_1 };

constexpr int64_t kQuantBlock = 32;
// Bytes of codes per block: 32 int8, or 32 nibbles.
constexpr int64_t quant_code_bytes(QuantFormat format) { return format == QuantFormat::q8_0 ? 32 : 16; }

struct QuantizedRowsView {
  int64_t rows = 0, blocks = 0;
  const int8_t* codes = nullptr;       // (rows, 32 * blocks)
  const float* scales = nullptr;       // (rows, blocks)
  const int32_t* sums = nullptr;       // (rows, blocks)
  const float* scaled_sums = nullptr;  // (rows, blocks): scales * sums, Q4_1's min terms
};

// x (rows, 32 * blocks) -> codes, scales, sums and scales * sums as above (the same bits on
// every target: a max, one multiply and a rounding per value).
void quantize_rows(const float* x, int64_t rows, int64_t blocks, int8_t* codes, float* scales, int32_t* sums,
                   float* scaled_sums);

}  // namespace attend::kernels
