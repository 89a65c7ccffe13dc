// Fused attention forward: online softmax over key tiles (Milakov & Gimelshein 2018; Dao et al.
// 2022), never holding more than a tile of scores. Per query tile Q_i (Br rows):
//
//   m = -inf, l = 0, O = 0                                   (Br), (Br), (Br, D_v)
//   for each key tile j that causal/window rules do not skip entirely:
//     S = Q_i K_j^T                                          tile_products.h, (Br, Bc)
//     S = scores(S)             scale, soft-cap, masks, biases (flash_scores.h)
//     m_new = max(m, rowmax(S));  P = exp(S - m_new)
//     l = exp(m - m_new) l + rowsum(P);  O = exp(m - m_new) O
//     O += dropout(P) V_j                                    tile_products.h, (Br, D_v)
//     m = m_new
//   O = O / l;  lse = m + log l     (a row that saw no key: O = 0, lse = -inf)
//
// Work is split statically over (problem, batch, head, query tile), cut where the key blocks
// the tiles visit cross equal shares; each tile is computed by one thread in a fixed order, so
// results depend neither on the thread count nor on the other problems of a varlen call. A
// thread packs the keys of a head once (tile_products.h) and reuses them for every query tile
// of that head it computes; key tiles start on a panel boundary (keys before the first allowed
// one are masked like any other disallowed key, and their values are not read).
#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "attend/core/error.h"
#include "attend/core/parallel.h"
#include "attend/core/tensor.h"
#include "kernels/attention_primitives.h"
#include "kernels/flash_attention.h"
#include "kernels/flash_scores.h"
#include "kernels/tile_products.h"

namespace attend::kernels {
namespace {

// Per-thread scratch, allocated once per parallel chunk (and counted by memory_stats()).
struct ForwardScratch {
  Tensor<float> scores;               // (Br, Bc)
  Tensor<float> accumulator;          // (Br, D_v)
  Tensor<float> packed_keys;          // the keys of head packed_head, packed (tile_products.h)
  const void* packed_call = nullptr;  // the problem whose head packed_head is, or null
  int64_t packed_head = -1;           // b * kv_heads + kv_head, or -1
  std::vector<float> row_max, row_sum;
  std::vector<bool> row_nan;
  // Room for the largest problem: its packed keys, its value width.
  ForwardScratch(int64_t packed_size, int64_t value_dim)
      : scores(Tensor<float>::empty({kQueryBlock, kKeyBlock})),
        accumulator(Tensor<float>::empty({kQueryBlock, value_dim})),
        packed_keys(Tensor<float>::empty({packed_size})),
        row_max(kQueryBlock),
        row_sum(kQueryBlock),
        row_nan(kQueryBlock) {}
};

// m = -inf, l = 0, O = 0 for the tile's rows; and the keys of head (b, kv_head) packed, once
// per head a thread visits.
void start_tile(const FlashAttentionProblem& p, int64_t head, const float* k, int64_t k_row_stride, int64_t rows,
                ForwardScratch& scratch) {
  std::fill_n(scratch.accumulator.data(), rows * p.value_dim, 0.0f);
  std::fill_n(scratch.row_max.begin(), rows, kNegativeInfinity);
  std::fill_n(scratch.row_sum.begin(), rows, 0.0f);
  std::fill_n(scratch.row_nan.begin(), rows, false);
  if (scratch.packed_call != &p || scratch.packed_head != head) {
    pack_panels(k, k_row_stride, p.keys, p.head_dim, scratch.packed_keys.data());
    scratch.packed_call = &p;
    scratch.packed_head = head;
  }
}

// The online-softmax step of every row for key tile j0 (S holds Q_i K_j^T):
//   m_new = max(m, rowmax(S));  P = exp(S - m_new);  l = exp(m - m_new) l + rowsum(P);
//   O = exp(m - m_new) O;  P = dropout(P)
// Returns whether any row saw an allowed key so far (else O += P V_j can be skipped).
// Rows r0 .. r1 - 1 of the tile (query i0 + r).
bool online_softmax_rows(const FlashAttentionProblem& p, int64_t b, int64_t h, int64_t i0, int64_t r0, int64_t r1,
                         int64_t j0, int64_t cols, bool features, ForwardScratch& scratch) {
  float* s = scratch.scores.data();
  float* o = scratch.accumulator.data();
  const bool check_positions = !block_fully_allowed(p, i0 + r0, i0 + r1, j0, j0 + cols);
  bool any_row_active = false;
  for (int64_t r = r0; r < r1; ++r) {
    float* sr = s + r * kKeyBlock;
    const float tile_max = masked_row_max(p, features, b, h, i0 + r, j0, sr, cols, check_positions);
    const float old_max = scratch.row_max[r];
    const float new_max = std::max(old_max, tile_max);
    if (new_max == kNegativeInfinity) {  // nothing allowed in this row so far
      scratch.row_nan[r] = scratch.row_nan[r] || has_nan(sr, cols);
      std::fill_n(sr, cols, 0.0f);
      continue;
    }
    any_row_active = true;
    const float correction = std::exp(old_max - new_max);  // 0 on the first allowed tile
    scratch.row_sum[r] = scratch.row_sum[r] * correction + exp_masked_row(p, features, sr, cols, new_max);
    scratch.row_max[r] = new_max;
    if (correction != 1.0f) scale_row(o + r * p.value_dim, p.value_dim, correction);
    if (p.dropout_p > 0) dropout_row(p, b, h, i0 + r, j0, sr, cols);
  }
  return any_row_active;
}

// O = O / l;  lse = m + log l  (a row that saw no key: O = 0, lse = -inf; a NaN: NaN).
void write_normalized_rows(const FlashAttentionProblem& p, int64_t b, int64_t h, int64_t i0, int64_t rows,
                           const ForwardScratch& scratch, float* out, float* log_sum_exp) {
  const float* o = scratch.accumulator.data();
  const std::array<int64_t, 3> out_strides = p.out_layout();
  for (int64_t r = 0; r < rows; ++r) {
    float* out_row = out + b * out_strides[0] + h * out_strides[1] + (i0 + r) * out_strides[2];
    float* lse = log_sum_exp + (b * p.heads + h) * p.queries + i0 + r;
    const float sum = scratch.row_nan[r] ? NAN : scratch.row_sum[r];
    if (sum == 0.0f) {  // fully masked row
      std::fill_n(out_row, p.value_dim, 0.0f);
      *lse = kNegativeInfinity;
      continue;
    }
    const float inverse = 1.0f / sum;
    for (int64_t c = 0; c < p.value_dim; ++c) out_row[c] = o[r * p.value_dim + c] * inverse;
    *lse = scratch.row_max[r] + std::log(sum);
  }
}

// S = Q K_j^T, the online softmax and O += P V_j for rows r0 .. r1 - 1 of the tile against
// cols keys from j0. Keys before `first` (there only because the tile starts on a panel
// boundary) have P = 0, but their V rows must not be read (0 * inf = NaN).
void key_block_rows(const FlashAttentionProblem& p, const float* q, int64_t q_row_stride, const float* v,
                    int64_t v_row_stride, int64_t b, int64_t h, int64_t i0, int64_t r0, int64_t r1, int64_t j0,
                    int64_t cols, int64_t first, bool features, ForwardScratch& scratch) {
  float* scores = scratch.scores.data() + r0 * kKeyBlock;
  times_packed_transposed(q + r0 * q_row_stride, q_row_stride, r1 - r0, scratch.packed_keys.data(), j0, cols,
                          p.head_dim, scores, kKeyBlock);
  if (!online_softmax_rows(p, b, h, i0, r0, r1, j0, cols, features, scratch)) return;
  const int64_t skip = std::max<int64_t>(0, first - j0);
  if (cols <= skip) return;
  accumulate_product(scores + skip, kKeyBlock, 1, r1 - r0, cols - skip, v + (j0 + skip) * v_row_stride, v_row_stride,
                     p.value_dim, scratch.accumulator.data() + r0 * p.value_dim, p.value_dim);
}

// One query tile of head (b, h), rows i0.. (the loop at the top of this file).
void forward_tile(const FlashAttentionProblem& p, int64_t b, int64_t h, int64_t i0, ForwardScratch& scratch, float* out,
                  float* log_sum_exp) {
  const int64_t rows = std::min(kQueryBlock, p.queries - i0);
  const int64_t kv_head = h / (p.heads / p.kv_heads);
  const std::array<int64_t, 3> qs = p.q_layout(), ks = p.k_layout(), vs = p.v_layout();
  const float* q = p.q + b * qs[0] + h * qs[1] + i0 * qs[2];  // (rows, D), rows qs[2] apart
  const float* k = p.k + b * ks[0] + kv_head * ks[1];         // (M, D), rows ks[2] apart
  const float* v = p.v + b * vs[0] + kv_head * vs[1];         // (M, D_v), rows vs[2] apart
  start_tile(p, b * p.kv_heads + kv_head, k, ks[2], rows, scratch);
  // Without per-element features (and with a positive scale), the scale folds into the exp:
  // one read-only pass for the maximum, one pass for exp(s * scale - max).
  const bool features = p.has_elementwise_features() || !(p.scale > 0);
  // Not a structured binding: the lambda below captures `first` (clang refuses bindings there).
  const std::pair<int64_t, int64_t> range = key_range(p, i0, i0 + rows);
  const int64_t first = range.first, last = range.second, panel = panel_width();
  for (int64_t j0 = first / panel * panel; j0 < last; j0 += kKeyBlock) {
    const int64_t cols = std::min(kKeyBlock, last - j0);
    for_each_row_group(p, i0, rows, j0, cols, [&](int64_t r0, int64_t r1, int64_t group_cols) {
      key_block_rows(p, q, qs[2], v, vs[2], b, h, i0, r0, r1, j0, group_cols, first, features, scratch);
    });
  }
  write_normalized_rows(p, b, h, i0, rows, scratch, out, log_sum_exp);
}

// The key blocks query tile i0 visits, plus one for the tile's own start and end: its cost.
int64_t tile_cost(const FlashAttentionProblem& p, int64_t i0) {
  const auto [first, last] = key_range(p, i0, std::min(p.queries, i0 + kQueryBlock));
  const int64_t panel = panel_width(), start = first / panel * panel;
  return 1 + (last > start ? (last - start + kKeyBlock - 1) / kKeyBlock : 0);
}

}  // namespace

void flash_attention_forward(std::span<const FlashForwardCall> calls) {
  // Items (call, b, h, tile) in that order; first_item[c] is call c's first, cost_before each
  // item's running cost.
  std::vector<int64_t> first_item{0}, cost_before{0};
  int64_t packed_size = 0, value_dim = 0;
  for (const FlashForwardCall& call : calls) {
    const FlashAttentionProblem& p = call.problem;
    const int64_t tiles = query_tiles(p);
    for (int64_t bh = 0; bh < p.batch * p.heads; ++bh) {
      for (int64_t tile = 0; tile < tiles; ++tile)
        cost_before.push_back(cost_before.back() + tile_cost(p, tile * kQueryBlock));
    }
    first_item.push_back(static_cast<int64_t>(cost_before.size()) - 1);
    packed_size = std::max(packed_size, packed_panels_size(p.keys, p.head_dim));
    value_dim = std::max(value_dim, p.value_dim);
  }
  parallel_for_balanced(cost_before, [&](int64_t begin, int64_t end) {
    ForwardScratch scratch(packed_size, value_dim);
    size_t c = std::upper_bound(first_item.begin(), first_item.end(), begin) - first_item.begin() - 1;
    for (int64_t item = begin; item < end; ++item) {
      while (item >= first_item[c + 1]) ++c;
      const FlashAttentionProblem& p = calls[c].problem;
      const int64_t local = item - first_item[c], tiles = query_tiles(p);
      const int64_t tile = local % tiles, h = local / tiles % p.heads, b = local / tiles / p.heads;
      forward_tile(p, b, h, tile * kQueryBlock, scratch, calls[c].out, calls[c].log_sum_exp);
    }
  });
}

void flash_attention_forward(const FlashAttentionProblem& p, float* out, float* log_sum_exp) {
  const FlashForwardCall call{p, out, log_sum_exp};
  flash_attention_forward(std::span<const FlashForwardCall>(&call, 1));
}

void attention_weights_from_log_sum_exp(const FlashAttentionProblem& p, const float* log_sum_exp, float* weights) {
  ATTEND_CHECK(!p.has_strides(), ValueError, "attention_weights_from_log_sum_exp: needs contiguous q, k and v");
  // The log-sum-exp only tells which rows saw no key; each row is recomputed from its scores.
  const int64_t rows = p.batch * p.heads * p.queries;
  parallel_for(rows, 16, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t i = row % p.queries, h = row / p.queries % p.heads, b = row / p.queries / p.heads;
      const int64_t kv_head = h / (p.heads / p.kv_heads);
      const float* q = p.q + row * p.head_dim;
      const float* k = p.k + (b * p.kv_heads + kv_head) * p.keys * p.head_dim;
      float* w = weights + row * p.keys;
      const float lse = log_sum_exp[row];
      if (lse == kNegativeInfinity) {
        std::fill_n(w, p.keys, 0.0f);
        continue;
      }
      for (int64_t j = 0; j < p.keys; ++j) w[j] = dot(q, k + j * p.head_dim, p.head_dim);
      finish_score_row(p, b, h, i, 0, w, p.keys, true);
      // The row's own softmax (max, exp, sum): exp(s - lse) would carry lse's rounding error,
      // amplified by |s|, into every weight.
      const float row_max = scale_and_max(w, p.keys, 1.0f);
      scale_row(w, p.keys, 1.0f / exp_and_sum(w, p.keys, row_max));
      if (p.dropout_p > 0) dropout_row(p, b, h, i, 0, w, p.keys);
    }
  });
}

}  // namespace attend::kernels
