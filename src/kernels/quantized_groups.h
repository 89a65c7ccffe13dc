// Q8_0 / Q4_0 / Q4_1 weights interleaved by groups of 16 rows, multiplied with int8 activations
// so that one vector instruction serves 16 outputs (the layout llama.cpp's repacked AVX-512
// kernels use, drawn here for attend's own kernel).
//
// The GGML blocks of quantized_activations.h, rearranged (the same codes and scales, nothing
// recomputed): rows go in groups of 16 (the last one padded with zero rows), and within a group
// and a block of 32 columns the codes are interleaved by row, four columns at a time:
//
//   Q4: codes[g][j][p], p < 4: 64 bytes; byte 4r + t (r < 16 rows, t < 4) holds
//        low nibble:  n(row 16g + r, column 32j + 8p + t)
//        high nibble: n(row 16g + r, column 32j + 8p + 4 + t)
//   Q8_0: codes[g][j][p], p < 8: 64 bytes; byte 4r + t = q(row 16g + r, column 32j + 4p + t) + 128
//        (stored offset by 128, unsigned, as vpdpbusd's first operand wants it)
//   scales[g][j][r] = d, mins[g][j][r] = m (Q4_1) of row 16g + r, block j (half floats)
//
//   one 64-byte Q4 line, low nibbles:  | r0: c0 c1 c2 c3 | r1: c0 c1 c2 c3 | ... | r15: c0..c3 |
//                        high nibbles: | r0: c4 c5 c6 c7 | r1: c4 ...               | r15: c4..c7 |
//
// A line's nibbles against x's four codes of those columns broadcast to every 32-bit lane give,
// by vpdpbusd (AVX-512 VNNI) or vpmaddubsw + vpmaddwd (AVX2), 16 rows' partial sums at once; a
// block's eight column quads sum into S_j exactly (int32), then one float step per block:
//
//   y[b][o] = fma(float(S_j), d_j s_j, y)              S_j = sum_i c_i q_i, c = q (Q8_0), n - 8
//                                                      (Q4_0), n (Q4_1); offsets folded in as
//                                                      - 128 sums_j, - 8 sums_j, exactly
//             then, Q4_1: y = fma(m_j, s_j sums_j, y)   for j = 0, 1, ...     (y starts at 0)
//
// x arrives in tiles of 8 rows (quantized_activations.h): a block's codes, start and scale of
// the tile's rows lie together, so that the kernel reads them at constant offsets from one
// pointer (on VNNI each quad straight from memory, broadcast by vpdpbusd itself).
//
// That order is the same on every target and for every batch and thread count: AVX-512, AVX2
// and the scalar code give the same bits.
#pragma once

#include <cstdint>

#include "kernels/quantized_activations.h"

namespace attend::kernels {

constexpr int64_t kGroupRows = 16;
// A group's codes of one block: 16 rows x 32 nibbles, or x 32 bytes.
constexpr int64_t group_block_bytes(QuantFormat format) { return format == QuantFormat::q8_0 ? 512 : 256; }

constexpr int64_t row_groups(int64_t rows) { return (rows + kGroupRows - 1) / kGroupRows; }

struct GroupedWeightsView {
  QuantFormat format = QuantFormat::q4_0;
  int64_t rows = 0, blocks = 0;
  const uint8_t* codes = nullptr;    // (groups, blocks, group_block_bytes(format))
  const uint16_t* scales = nullptr;  // (groups, blocks, 16)
  const uint16_t* mins = nullptr;    // (groups, blocks, 16), Q4_1 only
};

// From the row layout of quantized_activations.h (row_codes (rows, blocks, 32 or 16 bytes) in GGML's
// order, row_scales and row_mins (rows, blocks)) into the grouped arrays above, sized
// row_groups(rows) x blocks x (group_block_bytes, 16 scales, 16 mins). Mins: Q4_1 only.
void group_rows(QuantFormat format, int64_t rows, int64_t blocks, const uint8_t* row_codes, const uint16_t* row_scales,
                const uint16_t* row_mins, uint8_t* codes, uint16_t* scales, uint16_t* mins);
// Row `row` back in the row layout (its blocks' codes, scales and mins).
void ungroup_row(const GroupedWeightsView& w, int64_t row, uint8_t* row_codes, uint16_t* row_scales,
                 uint16_t* row_mins);

// What happens to each finished output: nothing, or GELU (gelu.h's, the same bits).
enum class OutputActivation { kNone, kGelu };

// y (x.rows, w.rows) = act(x W^T + bias): the bias (w.rows) added to each finished sum when given
// and then the activation, as separate passes would (the same bits); groups split across
// threads. x quantized for w's format (ValueError otherwise).
void grouped_matmul(const GroupedWeightsView& w, const QuantizedTilesView& x, const float* bias,
                    OutputActivation activation, float* y);

// Highway's name of the target these kernels run on this CPU ("AVX3_DL": AVX-512 VNNI).
const char* quantized_kernel_target();

}  // namespace attend::kernels
