// Products of block-quantized weights with int8-quantized activations (GGML's formats, as
// llama.cpp computes them): integer dot products per block of 32, float scales after.
//
// Weights, W (out, in), in = 32 * blocks, split into three arrays (kernels read the codes as a
// stream, the scales beside them); row o, block j covers columns 32j .. 32j + 31:
//
//   Q8_0  codes[o][j] = 32 int8 q_i                         w_i = d * q_i
//   Q4_0  codes[o][j] = 16 bytes b_k, k < 16:               w_i = d * (n_i - 8)
//   Q4_1  the same 16 bytes:                                w_i = d * n_i + m
//           n_k = b_k & 15 (columns 0..15), n_{k+16} = b_k >> 4 (columns 16..31)
//         scales[o][j] = d, mins[o][j] = m: IEEE half floats (the file's bits)
//
//   byte:   0   1   2  ...  15                    (one Q4 block: 16 bytes, 32 columns)
//         [n0 |n16][n1 |n17] ... [n15|n31]        low nibble | high nibble
//
// Activations, x (batch, in): each row's blocks quantized to int8, as llama.cpp's q8 rows:
//
//   a = max_i |x_i|,  s = a / 127,  q_i = round_half_even(x_i * (1 / s))  in [-127, 127]
//   (s = 0: q = 0; a block holding NaN or Inf: s = NaN, so that its products stay NaN)
//   sums[b][j] = sum_i q_i
//
// The product, for output o of row b:
//
//   S_j = sum_i c_i q_i         (exact, int32: c_i = q_i of Q8_0, n_i of Q4_0 / Q4_1)
//   Q8_0:  y = sum_j d_j s_j S_j
//   Q4_0:  y = sum_j d_j s_j (S_j - 8 sums_j)
//   Q4_1:  y = sum_j d_j s_j S_j + sum_j m_j (s_j sums_j)    (s_j sums_j rounded to float first)
//
// S_j is exact on every SIMD target (AVX-512 VNNI's vpdpbusd, AVX2's vpmaddubsw + vpmaddwd, or
// scalar); the float sums over j go through vector lanes, so targets differ by float rounding
// only. For a given target, y[b][o] is computed by one call in one order whatever the batch
// around row b, the rows o beside it and the thread count: the same bits.
#pragma once

#include <cstdint>

namespace attend::kernels {

enum class QuantFormat { q8_0, q4_0, q4_1 };

constexpr int64_t kQuantBlock = 32;
// Bytes of codes per block: 32 int8, or 32 nibbles.
constexpr int64_t quant_code_bytes(QuantFormat format) { return format == QuantFormat::q8_0 ? 32 : 16; }

struct QuantizedWeightsView {
  QuantFormat format = QuantFormat::q8_0;
  int64_t rows = 0, blocks = 0;      // W (rows, 32 * blocks)
  const uint8_t* codes = nullptr;    // (rows, blocks, code bytes)
  const uint16_t* scales = nullptr;  // (rows, blocks) half floats d
  const uint16_t* mins = nullptr;    // (rows, blocks) half floats m (Q4_1 only)
};

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

// y (x.rows, w.rows) = x W^T. Requires w.blocks == x.blocks; output rows split across threads.
void quantized_matmul(const QuantizedWeightsView& w, const QuantizedRowsView& x, float* y);

// S_j of row o of W with row b of x for every block j (the exact integer part, for tests).
void quantized_block_sums(const QuantizedWeightsView& w, int64_t o, const QuantizedRowsView& x, int64_t b,
                          int32_t* block_sums);

}  // namespace attend::kernels
