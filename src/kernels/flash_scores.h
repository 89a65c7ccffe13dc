// Internal to the fused kernels: block geometry, and the per-element steps that turn a row of
// raw dot products q_i . k_j into attention scores (scale, soft-cap, additive mask, ALiBi, and
// -inf where a mask forbids). Shared by forward, backward and the weights.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

#include "attend/core/random.h"
#include "kernels/attention_primitives.h"
#include "kernels/flash_attention.h"
#include "kernels/dropout.h"

namespace attend::kernels {

// Rows of queries and keys per tile. 128 x 256 keeps a tile of scores (128 KB) and the K/V tiles
// (64 KB each at D = 64) within the 512 KB L2 of the machine these were tuned on. Measured at
// D = 64, N = 1024 and 2048, 2 threads, when the tiles' products were BLAS calls
// (docs/performance-history.md): 128 x 256 beat 64 x 256 by 1-7% on all but causal forward at N = 1024
// (-3%), and 128 x 512 and 64 x 512 lost up to 20% on causal forward+backward. The products
// are now tile_products.h's micro-kernels (K packed once per head); kKeyBlock must stay a
// multiple of their panel width W, two vectors of the target: 16 keys on AVX2, 32 on AVX-512,
// and at most 128 on any target Highway has (SVE's 2048-bit vectors), hence the assert.
constexpr int64_t kQueryBlock = 128;
constexpr int64_t kKeyBlock = 256;
static_assert(kKeyBlock % 128 == 0, "key tiles must start on panel boundaries (tile_products.h)");

constexpr float kNegativeInfinity = -std::numeric_limits<float>::infinity();

// Keys [first, last) that some query in [i0, i1) may see by causal and window rules alone.
inline std::pair<int64_t, int64_t> key_range(const FlashAttentionProblem& p, int64_t i0, int64_t i1) {
  int64_t first = 0, last = p.keys;
  if (p.window_left >= 0) first = std::max<int64_t>(first, i0 + p.offset - p.window_left);
  if (p.causal) last = std::min<int64_t>(last, i1 - 1 + p.offset + 1);
  if (p.window_right >= 0) last = std::min<int64_t>(last, i1 - 1 + p.offset + p.window_right + 1);
  return {std::min(first, p.keys), std::max<int64_t>(last, 0)};
}

// Query tiles of kQueryBlock rows, key tiles of kKeyBlock keys.
inline int64_t query_tiles(const FlashAttentionProblem& p) { return (p.queries + kQueryBlock - 1) / kQueryBlock; }
inline int64_t key_tiles(const FlashAttentionProblem& p) { return (p.keys + kKeyBlock - 1) / kKeyBlock; }

// Rows of a tile computed together against the key tile that holds the causal diagonal (or a
// right window's edge): each group stops at its own last allowed key, so the masked triangle
// costs a group's width instead of the tile's (at N = 512 the tile's 128 rows computed 25% more
// products than the causal ones; groups of 24 rows, 6%). The products skipped have P = 0: every
// sum keeps its terms and its order.
constexpr int64_t kDiagonalRows = 24;

// fn(r0, r1, cols) for the rows of query tile i0 (`rows` of them) against the key tile at j0 of
// `cols` keys: once for all rows when the first row sees the whole key tile, else per group of
// kDiagonalRows rows with the keys up to its last row's, groups without a key left out.
template <class Fn>
void for_each_row_group(const FlashAttentionProblem& p, int64_t i0, int64_t rows, int64_t j0, int64_t cols,
                        const Fn& fn) {
  if (key_range(p, i0, i0 + 1).second >= j0 + cols) {
    fn(int64_t{0}, rows, cols);
    return;
  }
  for (int64_t r0 = 0; r0 < rows; r0 += kDiagonalRows) {
    const int64_t r1 = std::min(rows, r0 + kDiagonalRows);
    const int64_t group_cols = std::min(cols, key_range(p, i0 + r0, i0 + r1).second - j0);
    if (group_cols > 0) fn(r0, r1, group_cols);
  }
}

// Whether causal and window rules allow every (i, j) in [i0, i1) x [j0, j1).
inline bool block_fully_allowed(const FlashAttentionProblem& p, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  if (p.causal && j1 - 1 > i0 + p.offset) return false;
  if (p.window_right >= 0 && j1 - 1 > i0 + p.offset + p.window_right) return false;
  if (p.window_left >= 0 && j0 < i1 - 1 + p.offset - p.window_left) return false;
  return true;
}

// Columns [lo, hi) of keys j0..j0+cols that causal and window rules allow query i to see.
inline std::pair<int64_t, int64_t> allowed_columns(const FlashAttentionProblem& p, int64_t i, int64_t j0,
                                                   int64_t cols) {
  const int64_t position = i + p.offset;
  int64_t lo = 0, hi = cols;
  if (p.window_left >= 0) lo = std::max<int64_t>(lo, position - p.window_left - j0);
  if (p.causal) hi = std::min<int64_t>(hi, position + 1 - j0);
  if (p.window_right >= 0) hi = std::min<int64_t>(hi, position + p.window_right + 1 - j0);
  lo = std::clamp<int64_t>(lo, 0, cols);
  return {lo, std::clamp<int64_t>(hi, lo, cols)};
}

inline bool position_allowed(const FlashAttentionProblem& p, int64_t i, int64_t j) {
  const int64_t position = i + p.offset;
  if (p.causal && j > position) return false;
  if (p.window_left >= 0 && j < position - p.window_left) return false;
  if (p.window_right >= 0 && j > position + p.window_right) return false;
  return true;
}

// s[0..n): raw q_i . k_j for keys j0..j0+n of head (b, h) -> scores, as the reference path:
//   s = s * scale;  s = softcap * tanh(s / softcap);  s += additive + ALiBi;  -inf if masked.
// With softcap_tanh, also stores tanh(s * scale / softcap) for the backward pass.
inline void finish_score_row(const FlashAttentionProblem& p, int64_t b, int64_t h, int64_t i, int64_t j0, float* s,
                             int64_t n, bool check_positions, float* softcap_tanh = nullptr) {
  const int64_t mask_row = b * p.mask_strides[0] + h * p.mask_strides[1] + i * p.mask_strides[2];
  const int64_t additive_row = b * p.additive_strides[0] + h * p.additive_strides[1] + i * p.additive_strides[2];
  const float slope = p.alibi_slopes ? p.alibi_slopes[h] : 0.0f;
  for (int64_t c = 0; c < n; ++c) {
    const int64_t j = j0 + c;
    bool allowed = !check_positions || position_allowed(p, i, j);
    if (p.key_padding && p.key_padding[b * p.keys + j]) allowed = false;
    if (p.mask && !p.mask[mask_row + j * p.mask_strides[3]]) allowed = false;
    if (!allowed) {
      s[c] = kNegativeInfinity;
      if (softcap_tanh) softcap_tanh[c] = 0;
      continue;
    }
    float score = s[c] * p.scale;
    if (p.softcap > 0) {
      const float t = std::tanh(score / p.softcap);
      if (softcap_tanh) softcap_tanh[c] = t;
      score = p.softcap * t;
    }
    if (p.additive) score += p.additive[additive_row + j * p.additive_strides[3]];
    if (p.alibi_slopes) score -= slope * static_cast<float>(std::abs(i + p.offset - j));
    s[c] = score;
  }
}

// s[0..cols): raw q_i . k_j for keys j0..j0+cols -> the row's largest score, the scores left
// for an exp that applies the rest (forward and decode):
//   features (masks, biases, soft-cap, dropout, or a scale <= 0): the finished scores of
//     finish_score_row, whose max is returned; exp(s - max) follows.
//   otherwise: the raw products with -inf outside the causal/window columns, and max * scale is
//     returned (scale > 0 keeps the order); exp(s * scale - max) follows, one pass fewer.
// -inf when no key of the row is allowed.
inline float masked_row_max(const FlashAttentionProblem& p, bool features, int64_t b, int64_t h, int64_t i, int64_t j0,
                            float* s, int64_t cols, bool check_positions) {
  if (features) {
    finish_score_row(p, b, h, i, j0, s, cols, check_positions);
    return row_max(s, cols);
  }
  const auto [lo, hi] = check_positions ? allowed_columns(p, i, j0, cols) : std::pair<int64_t, int64_t>{0, cols};
  std::fill(s, s + lo, kNegativeInfinity);
  std::fill(s + hi, s + cols, kNegativeInfinity);
  return lo < hi ? row_max(s + lo, hi - lo) * p.scale : kNegativeInfinity;
}

// exp of the scores that masked_row_max left, against `max`, in place; returns their sum.
inline float exp_masked_row(const FlashAttentionProblem& p, bool features, float* s, int64_t cols, float max) {
  return features ? exp_and_sum(s, cols, max) : exp_scaled_and_sum(s, cols, p.scale, max);
}

// True when a row of n values holds a NaN (a NaN hiding among -inf still poisons its row).
inline bool has_nan(const float* s, int64_t n) {
  bool nan = false;
  for (int64_t c = 0; c < n; ++c) nan = nan || std::isnan(s[c]);
  return nan;
}

// The factor of a kept probability, 1 / (1 - p) rounded to float as the reference path does.
inline float dropout_kept_scale(const FlashAttentionProblem& p) {
  return static_cast<float>(1.0 / (1.0 - p.dropout_p));
}

// Dropout on a row of probabilities of head (b, h), query i, keys j0..j0+n: each kept value is
// multiplied by 1 / (1 - p), the others by 0 (a NaN stays NaN). Element (b, h, i, j) uses the
// Philox draw of its row-major index in (B, H, N, M), exactly as the reference path's dropout
// does. keep (n bytes), unless null, records the mask for multiply_by_keep_bytes.
inline void dropout_row(const FlashAttentionProblem& p, int64_t b, int64_t h, int64_t i, int64_t j0, float* row,
                        int64_t n, uint8_t* keep = nullptr) {
  const float kept_scale = dropout_kept_scale(p);
  const uint64_t base = static_cast<uint64_t>(((b * p.heads + h) * p.queries + i) * p.keys + j0);
  dropout_multiply(p.dropout_seed, 1, base, n, p.dropout_p, kept_scale, row, row, keep);
}

}  // namespace attend::kernels
