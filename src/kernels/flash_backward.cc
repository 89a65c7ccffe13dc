// Fused attention backward (FlashAttention-2, Dao 2023), recomputing the probabilities from the
// forward's log-sum-exp instead of storing them. With delta_i = sum_c dO[i, c] O[i, c]:
//
//   for each key tile j:                     dK_j, dV_j accumulate in the outputs
//     for each query head h of the group, each query tile i that may see tile j:
//       S  = scores(Q_i K_j^T)                 as in the forward pass
//       P  = exp(S - lse_i)                    (0 on rows that saw no key)
//       dV_j += dropout(P)^T dO_i              forward: O += dropout(P) V_j
//       dP = dropout_mask(dO_i V_j^T)          the same mask, scaled by 1 / (1 - p)
//       dS = P * (dP - delta_i)                softmax backward
//       dZ = dS * scale * (1 - tanh^2)         through soft-cap (without it: dS * scale)
//       dQ_i += dZ K_j;  dK_j += dZ^T Q_i      forward: S = Q_i K_j^T
//
// Every output element has one writer and one order of summation, the same in both schedules:
// dK_j and dV_j sum over (query head of the group, query tile) ascending, dQ_i over key tiles
// ascending. Results are therefore bitwise identical for any thread count.
//
//   one pass      units (batch, key/value head): a unit owns dK, dV of its head and dQ of every
//                 query head that reads it. 5 products a block: 10 B H N M D FLOPs.
//   two passes    when there are fewer such units than threads (B = 1 with GQA/MQA): pass 1 over
//                 (batch, key/value head, key tile) writes dK_j, dV_j; pass 2 over (batch, query
//                 head, query tile) recomputes S, P and dP and writes dQ_i. 7 products a block
//                 (14 B H N M D) spread over every thread.
// The products are tile_products.h's micro-kernels on K and V packed once per head.
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

struct BackwardScratch {
  Tensor<float> probabilities;    // P, (Br, Bc)
  Tensor<float> dropped;          // dropout(P), (Br, Bc)
  std::vector<uint8_t> kept;      // its mask, 1 where kept, (Br, Bc)
  Tensor<float> d_probabilities;  // dP then dS then dZ, (Br, Bc)
  Tensor<float> softcap_tanh;     // (Br, Bc) when soft-capping
  std::vector<float> delta;       // (Br)
  explicit BackwardScratch(const FlashAttentionProblem& p)
      : probabilities(Tensor<float>::empty({kQueryBlock, kKeyBlock})),
        dropped(Tensor<float>::empty({kQueryBlock, kKeyBlock})),
        kept(p.dropout_p > 0 ? kQueryBlock * kKeyBlock : 0),
        d_probabilities(Tensor<float>::empty({kQueryBlock, kKeyBlock})),
        softcap_tanh(p.softcap > 0 ? Tensor<float>::empty({kQueryBlock, kKeyBlock}) : Tensor<float>()),
        delta(kQueryBlock) {}
};

// K and V of one (batch, key/value head), packed for times_packed_transposed.
struct PackedHead {
  const float* keys;    // packed_panels_size(M, D) floats
  const float* values;  // packed_panels_size(M, D_v) floats
};

// Which gradients a block adds to: both passes' worth, or one of them.
enum class BlockOutputs { kAll, kKeysAndValues, kQueries };

struct BackwardTensors {
  const float* out;
  const float* log_sum_exp;
  const float* d_out;
  float* dq;
  float* dk;
  float* dv;
  float* d_additive;
};

// One (query tile i0, key tile j0) block of head (b, h), accumulating into dQ_i, dK_j, dV_j.
// scratch.delta holds delta_r of the tile's rows.
void backward_block(const FlashAttentionProblem& p, const BackwardTensors& t, const PackedHead& packed,
                    BlockOutputs outputs, int64_t b, int64_t h, int64_t i0, int64_t j0, int64_t cols,
                    BackwardScratch& scratch) {
  const bool keys_and_values = outputs != BlockOutputs::kQueries, queries = outputs != BlockOutputs::kKeysAndValues;
  const int64_t rows = std::min(kQueryBlock, p.queries - i0);
  const int64_t kv_head = h / (p.heads / p.kv_heads);
  const int64_t q_row = (b * p.heads + h) * p.queries + i0;  // first row of this tile in (B*H*N): lse
  const std::array<int64_t, 3> qs = p.q_layout(), ks = p.k_layout(), vs = p.v_layout(), os = p.out_layout();
  const float* q = p.q + b * qs[0] + h * qs[1] + i0 * qs[2];          // (rows, D), rows qs[2] apart
  const float* k = p.k + b * ks[0] + kv_head * ks[1] + j0 * ks[2];    // (cols, D), rows ks[2] apart
  const float* d_out = t.d_out + b * os[0] + h * os[1] + i0 * os[2];  // (rows, D_v), rows os[2] apart
  float* dq = t.dq + b * qs[0] + h * qs[1] + i0 * qs[2];              // at q's strides
  float* dk = t.dk + b * ks[0] + kv_head * ks[1] + j0 * ks[2];        // at k's strides
  float* dv = t.dv + b * vs[0] + kv_head * vs[1] + j0 * vs[2];        // at v's strides
  float* prob = scratch.probabilities.data();
  float* dropped = scratch.dropped.data();
  float* dprob = scratch.d_probabilities.data();
  float* tanh_values = p.softcap > 0 ? scratch.softcap_tanh.data() : nullptr;

  // S = Q_i K_j^T, then P = exp(scores(S) - lse)
  times_packed_transposed(q, qs[2], rows, packed.keys, j0, cols, p.head_dim, prob, kKeyBlock);
  const bool check_positions = !block_fully_allowed(p, i0, i0 + rows, j0, j0 + cols);
  const bool features = p.has_elementwise_features() || check_positions;
  for (int64_t r = 0; r < rows; ++r) {
    float* pr = prob + r * kKeyBlock;
    const float lse = t.log_sum_exp[q_row + r];
    if (lse == kNegativeInfinity) {
      std::fill_n(pr, cols, 0.0f);  // a row that saw no key: no gradient
      if (tanh_values) std::fill_n(tanh_values + r * kKeyBlock, cols, 0.0f);
      continue;
    }
    if (features) {
      finish_score_row(p, b, h, i0 + r, j0, pr, cols, check_positions,
                       tanh_values ? tanh_values + r * kKeyBlock : nullptr);
      exp_scaled_minus_in_place(pr, cols, 1.0f, lse);
    } else {
      exp_scaled_minus_in_place(pr, cols, p.scale, lse);
    }
  }
  const float* used = prob;
  if (p.dropout_p > 0) {
    for (int64_t r = 0; r < rows; ++r) {
      std::copy_n(prob + r * kKeyBlock, cols, dropped + r * kKeyBlock);
      dropout_row(p, b, h, i0 + r, j0, dropped + r * kKeyBlock, cols, scratch.kept.data() + r * kKeyBlock);
    }
    used = dropped;
  }
  // dV_j += dropout(P)^T dO_i
  if (keys_and_values) accumulate_product(used, 1, kKeyBlock, cols, rows, d_out, os[2], p.value_dim, dv, vs[2]);
  // dP = dO_i V_j^T (through the dropout mask)
  times_packed_transposed(d_out, os[2], rows, packed.values, j0, cols, p.value_dim, dprob, kKeyBlock);
  for (int64_t r = 0; r < rows; ++r) {
    float* dpr = dprob + r * kKeyBlock;
    if (p.dropout_p > 0) {
      multiply_by_keep_bytes(scratch.kept.data() + r * kKeyBlock, cols, dropout_kept_scale(p), dpr, dpr);
    }
    // dS = P * (dP - delta)
    softmax_backward_row_in_place(prob + r * kKeyBlock, dpr, cols, scratch.delta[r]);
    if (t.d_additive && keys_and_values) {
      float* target = t.d_additive + (q_row + r) * p.keys + j0;
      for (int64_t c = 0; c < cols; ++c) target[c] += dpr[c];
    }
    if (tanh_values) {
      const float* tr = tanh_values + r * kKeyBlock;
      for (int64_t c = 0; c < cols; ++c) dpr[c] *= p.scale * (1.0f - tr[c] * tr[c]);
    } else {
      scale_row(dpr, cols, p.scale);
    }
  }
  // dQ_i += dZ K_j;  dK_j += dZ^T Q_i
  if (queries) accumulate_product(dprob, kKeyBlock, 1, rows, cols, k, ks[2], p.head_dim, dq, qs[2]);
  if (keys_and_values) accumulate_product(dprob, 1, kKeyBlock, cols, rows, q, qs[2], p.head_dim, dk, ks[2]);
}

// delta_r = dO_r . O_r for the rows of query tile i0 of head (b, h).
void tile_deltas(const FlashAttentionProblem& p, const BackwardTensors& t, int64_t b, int64_t h, int64_t i0,
                 int64_t rows, BackwardScratch& scratch) {
  const std::array<int64_t, 3> os = p.out_layout();
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t row = b * os[0] + h * os[1] + (i0 + r) * os[2];
    scratch.delta[r] = dot(t.d_out + row, t.out + row, p.value_dim);
  }
}

// Whether query tile i0 may see key tile j0 (else skipped by index arithmetic).
bool tiles_meet(const FlashAttentionProblem& p, int64_t i0, int64_t rows, int64_t j0, int64_t cols) {
  const auto [first, last] = key_range(p, i0, i0 + rows);
  return j0 + cols > first && j0 < last;
}

// The tile a unit takes: 0, n-1, 1, n-2, ... With causal masks the work of a tile falls (pass 1)
// or rises (pass 2) with its index; so ordered, parallel_for's contiguous chunks get equal shares.
int64_t zigzag(int64_t u, int64_t n) { return u % 2 == 0 ? u / 2 : n - 1 - u / 2; }

int64_t query_tiles(const FlashAttentionProblem& p) { return (p.queries + kQueryBlock - 1) / kQueryBlock; }
int64_t key_tiles(const FlashAttentionProblem& p) { return (p.keys + kKeyBlock - 1) / kKeyBlock; }

// Zeroes rows [first, last) of a (b, head) slice of x at strides s (row width `width`).
void zero_rows(float* x, const std::array<int64_t, 3>& s, int64_t b, int64_t head, int64_t first, int64_t last,
               int64_t width) {
  for (int64_t i = first; i < last; ++i) std::fill_n(x + b * s[0] + head * s[1] + i * s[2], width, 0.0f);
}

// Packs K and V of head (b, kv_head) into keys and values.
void pack_head(const FlashAttentionProblem& p, int64_t b, int64_t kv_head, float* keys, float* values) {
  const std::array<int64_t, 3> ks = p.k_layout(), vs = p.v_layout();
  pack_panels(p.k + b * ks[0] + kv_head * ks[1], ks[2], p.keys, p.head_dim, keys);
  pack_panels(p.v + b * vs[0] + kv_head * vs[1], vs[2], p.keys, p.value_dim, values);
}

// Every block of key tile j0 of head (b, kv_head): each query head of the group, each query
// tile that may see the key tile, in that order (the order dK_j and dV_j are summed in).
void key_tile_blocks(const FlashAttentionProblem& p, const BackwardTensors& t, const PackedHead& packed,
                     BlockOutputs outputs, int64_t b, int64_t kv_head, int64_t j0, int64_t cols,
                     BackwardScratch& scratch) {
  const int64_t group = p.heads / p.kv_heads;
  for (int64_t h = kv_head * group; h < (kv_head + 1) * group; ++h) {
    for (int64_t i0 = 0; i0 < p.queries; i0 += kQueryBlock) {
      const int64_t rows = std::min(kQueryBlock, p.queries - i0);
      if (!tiles_meet(p, i0, rows, j0, cols)) continue;
      tile_deltas(p, t, b, h, i0, rows, scratch);
      backward_block(p, t, packed, outputs, b, h, i0, j0, cols, scratch);
    }
  }
}

// One pass: unit (b, kv_head) writes dK, dV of its head and dQ of its group's query heads.
void backward_by_head(const FlashAttentionProblem& p, const BackwardTensors& t) {
  const int64_t group = p.heads / p.kv_heads;
  parallel_for(p.batch * p.kv_heads, 1, [&](int64_t begin, int64_t end) {
    BackwardScratch scratch(p);
    auto keys = Tensor<float>::empty({packed_panels_size(p.keys, p.head_dim)});
    auto values = Tensor<float>::empty({packed_panels_size(p.keys, p.value_dim)});
    const PackedHead packed{keys.data(), values.data()};
    for (int64_t unit = begin; unit < end; ++unit) {
      const int64_t b = unit / p.kv_heads, kv_head = unit % p.kv_heads;
      pack_head(p, b, kv_head, keys.data(), values.data());
      zero_rows(t.dk, p.k_layout(), b, kv_head, 0, p.keys, p.head_dim);
      zero_rows(t.dv, p.v_layout(), b, kv_head, 0, p.keys, p.value_dim);
      for (int64_t h = kv_head * group; h < (kv_head + 1) * group; ++h) {
        zero_rows(t.dq, p.q_layout(), b, h, 0, p.queries, p.head_dim);
      }
      for (int64_t j0 = 0; j0 < p.keys; j0 += kKeyBlock) {
        const int64_t cols = std::min(kKeyBlock, p.keys - j0);
        key_tile_blocks(p, t, packed, BlockOutputs::kAll, b, kv_head, j0, cols, scratch);
      }
    }
  });
}

// Two passes over K and V packed for every head up front.
void backward_by_tile(const FlashAttentionProblem& p, const BackwardTensors& t) {
  const int64_t group = p.heads / p.kv_heads, heads = p.batch * p.kv_heads;
  const int64_t key_size = packed_panels_size(p.keys, p.head_dim), value_size = packed_panels_size(p.keys, p.value_dim);
  auto keys = Tensor<float>::empty({heads * key_size});      // (B H_kv) packed K heads
  auto values = Tensor<float>::empty({heads * value_size});  // (B H_kv) packed V heads
  auto packed_of = [&](int64_t head) {
    return PackedHead{keys.data() + head * key_size, values.data() + head * value_size};
  };
  parallel_for(heads, 1, [&](int64_t begin, int64_t end) {
    for (int64_t head = begin; head < end; ++head) {
      pack_head(p, head / p.kv_heads, head % p.kv_heads, keys.data() + head * key_size,
                values.data() + head * value_size);
    }
  });
  // Pass 1: unit (b, kv_head, key tile j) writes dK_j, dV_j.
  parallel_for(heads * key_tiles(p), 1, [&](int64_t begin, int64_t end) {
    BackwardScratch scratch(p);
    for (int64_t unit = begin; unit < end; ++unit) {
      const int64_t head = unit / key_tiles(p), j0 = zigzag(unit % key_tiles(p), key_tiles(p)) * kKeyBlock;
      const int64_t b = head / p.kv_heads, kv_head = head % p.kv_heads, cols = std::min(kKeyBlock, p.keys - j0);
      zero_rows(t.dk, p.k_layout(), b, kv_head, j0, j0 + cols, p.head_dim);
      zero_rows(t.dv, p.v_layout(), b, kv_head, j0, j0 + cols, p.value_dim);
      key_tile_blocks(p, t, packed_of(head), BlockOutputs::kKeysAndValues, b, kv_head, j0, cols, scratch);
    }
  });
  // Pass 2: unit (b, h, query tile i) writes dQ_i.
  parallel_for(p.batch * p.heads * query_tiles(p), 1, [&](int64_t begin, int64_t end) {
    BackwardScratch scratch(p);
    for (int64_t unit = begin; unit < end; ++unit) {
      const int64_t b = unit / (p.heads * query_tiles(p)), h = unit / query_tiles(p) % p.heads;
      const int64_t i0 = zigzag(unit % query_tiles(p), query_tiles(p)) * kQueryBlock;
      const int64_t rows = std::min(kQueryBlock, p.queries - i0);
      zero_rows(t.dq, p.q_layout(), b, h, i0, i0 + rows, p.head_dim);
      tile_deltas(p, t, b, h, i0, rows, scratch);
      for (int64_t j0 = 0; j0 < p.keys; j0 += kKeyBlock) {
        const int64_t cols = std::min(kKeyBlock, p.keys - j0);
        if (!tiles_meet(p, i0, rows, j0, cols)) continue;
        backward_block(p, t, packed_of(b * p.kv_heads + h / group), BlockOutputs::kQueries, b, h, i0, j0, cols,
                       scratch);
      }
    }
  });
}

}  // namespace

// Two passes when they finish sooner than one, counting (query tile, key tile) blocks at 5 products
// in one pass, 4 in pass 1 and 3 in pass 2, and the rounds of units each pass needs on T threads.
bool backward_splits_over_tiles(const FlashAttentionProblem& p) {
  if (in_parallel_region()) return false;
  const int64_t threads = num_threads(), units = p.batch * p.kv_heads, group = p.heads / p.kv_heads;
  const int64_t q_tiles = query_tiles(p), k_tiles = key_tiles(p);
  auto rounds = [&](int64_t n) { return (n + threads - 1) / threads; };
  const int64_t one_pass = 5 * rounds(units) * group * q_tiles * k_tiles;
  const int64_t two_passes =
      4 * rounds(units * k_tiles) * group * q_tiles + 3 * rounds(units * group * q_tiles) * k_tiles;
  return two_passes < one_pass;
}

void flash_attention_backward(const FlashAttentionProblem& p, const float* out, const float* log_sum_exp,
                              const float* d_out, float* dq, float* dk, float* dv, float* d_additive) {
  const BackwardTensors t{out, log_sum_exp, d_out, dq, dk, dv, d_additive};
  if (backward_splits_over_tiles(p)) {
    backward_by_tile(p, t);
  } else {
    backward_by_head(p, t);
  }
}

}  // namespace attend::kernels
