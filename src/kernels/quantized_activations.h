// GGML's block formats and activations quantized to int8 per block, as llama.cpp computes them,
// laid out in tiles of rows for the grouped products (quantized_groups.h).
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
//   (s = 0, or 1 / s overflowing to infinity (max |x| < ~4e-37): q = 0; a block holding NaN or
//   Inf: s = NaN, so that its products stay NaN, and its codes and sum 0)
//   sum = sum_i q_i,  start = -offset * sum,  scaled_sum = s * sum (rounded to float)
//   where offset is what the weight format's codes carry: 128 (Q8_0 codes are stored + 128),
//   8 (Q4_0's n - 8), 0 (Q4_1): the integer sum S_j of a block begins at `start`.
//
// Tiles: rows go in tiles of 8 (then one of 4, then single rows: tile_rows_at), and a tile
// keeps its rows' entries of one block together, so that a kernel walking the blocks reads one
// run of memory with every address a constant offset from one pointer. A tile of n rows at
// row b, block j, begins at byte 44 (b blocks + j n) (kTileEntryBytes = 44 a row and block):
//
//   int8 codes[n][32]   row r's codes of the block's columns 0 .. 31
//   int32 start[n]      float scale[n]      float scaled_sum[n]
//
//   n = 8:  | r0: 32 codes | r1: 32 codes | ... | r7: 32 codes | start r0..r7 | scale r0..r7 | scaled_sum r0..r7 |
#pragma once

#include <cstdint>

namespace attend::kernels {

enum class QuantFormat { q8_0, q4_0, q4_1 };

constexpr int64_t kQuantBlock = 32;
// Bytes of codes per block: 32 int8, or 32 nibbles.
constexpr int64_t quant_code_bytes(QuantFormat format) { return format == QuantFormat::q8_0 ? 32 : 16; }
// What a format's stored codes carry beyond the signed integer multiplying d (see above).
constexpr int32_t code_offset(QuantFormat format) {
  return format == QuantFormat::q8_0 ? 128 : format == QuantFormat::q4_0 ? 8 : 0;
}

constexpr int64_t kTileRows = 8;
constexpr int64_t kTileEntryBytes = 44;  // a row's block: 32 codes, start, scale, scaled_sum
// Rows of the tile that begins at row b of `rows`: 8 while they last, then 4, then 1.
constexpr int64_t tile_rows_at(int64_t b, int64_t rows) {
  return b + kTileRows <= rows ? kTileRows : b + 4 <= rows ? 4 : 1;
}
constexpr int64_t quantized_tiles_bytes(int64_t rows, int64_t blocks) { return rows * blocks * kTileEntryBytes; }
// Where row `row` (of `rows`) keeps block `block` (of `blocks`): its tile's first byte, the
// tile's row count n and the row's place r among them.
struct TilePlace {
  int64_t offset, n, r;
};
constexpr TilePlace tile_place(int64_t row, int64_t rows, int64_t blocks, int64_t block) {
  const int64_t eights = rows - rows % kTileRows;  // rows in tiles of 8
  const int64_t first = row < eights ? row - row % kTileRows : rows - eights >= 4 && row < eights + 4 ? eights : row;
  const int64_t n = tile_rows_at(first, rows);
  return {kTileEntryBytes * (first * blocks + block * n), n, row - first};
}

struct QuantizedTilesView {
  QuantFormat weights = QuantFormat::q8_0;  // the format whose offset `start` holds
  int64_t rows = 0, blocks = 0;
  const uint8_t* data = nullptr;  // quantized_tiles_bytes(rows, blocks), laid out as above
};

// x (rows, 32 * blocks) -> tiles (quantized_tiles_bytes(rows, blocks) bytes) as above, for
// products with weights of `weights`' format; rows split across threads (the same bits on every
// target and for every thread count: a max, one multiply and a rounding per value).
void quantize_tiles(const float* x, int64_t rows, int64_t blocks, QuantFormat weights, uint8_t* tiles);

// One row's block read back from the tiles (for tests and references).
struct TileEntry {
  int8_t codes[kQuantBlock];
  int32_t start;
  float scale, scaled_sum;
};
TileEntry tile_entry(const QuantizedTilesView& x, int64_t row, int64_t block);

}  // namespace attend::kernels
