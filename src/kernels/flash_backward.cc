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
//   two passes    when the units are too few or too unequal for the threads (B = 1 with GQA/MQA,
//                 one long sequence in a pack): pass 1 over (batch, key/value head, key tile)
//                 writes dK_j, dV_j; pass 2 over (batch, query head, query tile) recomputes S, P
//                 and dP and writes dQ_i. 7 products a block (14 B H N M D) over every thread.
// A varlen call (several problems) runs their units in one schedule, cut by cost.
// The products are tile_products.h's micro-kernels on K and V packed once per head.
#include <algorithm>
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
  Tensor<float> keys, values;     // one head's K and V packed (the one-pass schedule), or empty
  // Room for the blocks of p (or of the largest problem of a call) and, if asked, its heads.
  BackwardScratch(const FlashAttentionProblem& p, bool packs_heads)
      : probabilities(Tensor<float>::empty({kQueryBlock, kKeyBlock})),
        dropped(Tensor<float>::empty({kQueryBlock, kKeyBlock})),
        kept(p.dropout_p > 0 ? kQueryBlock * kKeyBlock : 0),
        d_probabilities(Tensor<float>::empty({kQueryBlock, kKeyBlock})),
        softcap_tanh(p.softcap > 0 ? Tensor<float>::empty({kQueryBlock, kKeyBlock}) : Tensor<float>()),
        delta(kQueryBlock),
        keys(Tensor<float>::empty({packs_heads ? packed_panels_size(p.keys, p.head_dim) : 0})),
        values(Tensor<float>::empty({packs_heads ? packed_panels_size(p.keys, p.value_dim) : 0})) {}
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

// Rows r0 .. r1 - 1 of a (query tile i0, key tile j0) block of head (b, h) against cols keys,
// accumulating into those rows of dQ_i and into dK_j, dV_j. scratch.delta holds delta_r of the
// tile's rows.
void backward_rows(const FlashAttentionProblem& p, const BackwardTensors& t, const PackedHead& packed,
                   BlockOutputs outputs, int64_t b, int64_t h, int64_t tile_i0, int64_t r0, int64_t r1, int64_t j0,
                   int64_t cols, BackwardScratch& scratch) {
  const bool keys_and_values = outputs != BlockOutputs::kQueries, queries = outputs != BlockOutputs::kKeysAndValues;
  const int64_t i0 = tile_i0 + r0, rows = r1 - r0;  // the first query of these rows, and their count
  const float* delta = scratch.delta.data() + r0;
  const int64_t kv_head = h / (p.heads / p.kv_heads);
  const int64_t q_row = (b * p.heads + h) * p.queries + i0;  // first of these rows in (B*H*N): lse
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
  const bool features = p.has_elementwise_features();
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
      continue;
    }
    // Causal and window rules only: the allowed run of keys, the rest P = 0 (as the forward
    // folds the scale into the exp).
    const auto [lo, hi] = check_positions ? allowed_columns(p, i0 + r, j0, cols) : std::pair<int64_t, int64_t>{0, cols};
    std::fill(pr, pr + lo, 0.0f);
    std::fill(pr + hi, pr + cols, 0.0f);
    if (lo < hi) exp_scaled_minus_in_place(pr + lo, hi - lo, p.scale, lse);
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
    softmax_backward_row_in_place(prob + r * kKeyBlock, dpr, cols, delta[r]);
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

// One (query tile i0, key tile j0) block of head (b, h), accumulating into dQ_i, dK_j, dV_j: the
// diagonal's key tile in row groups (flash_scores.h), as in the forward.
void backward_block(const FlashAttentionProblem& p, const BackwardTensors& t, const PackedHead& packed,
                    BlockOutputs outputs, int64_t b, int64_t h, int64_t i0, int64_t j0, int64_t cols,
                    BackwardScratch& scratch) {
  const int64_t rows = std::min(kQueryBlock, p.queries - i0);
  for_each_row_group(p, i0, rows, j0, cols, [&](int64_t r0, int64_t r1, int64_t group_cols) {
    backward_rows(p, t, packed, outputs, b, h, i0, r0, r1, j0, group_cols, scratch);
  });
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

BackwardTensors tensors_of(const FlashBackwardCall& call) {
  return {call.out, call.log_sum_exp, call.d_out, call.dq, call.dk, call.dv, call.d_additive};
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

// How many blocks of one query head each query tile and each key tile of a problem computes
// (causal and window rules skip the others).
struct BlockCounts {
  std::vector<int64_t> per_query_tile, per_key_tile;
  int64_t total = 0;
  explicit BlockCounts(const FlashAttentionProblem& p)
      : per_query_tile(static_cast<size_t>(query_tiles(p))), per_key_tile(static_cast<size_t>(key_tiles(p))) {
    for (int64_t i = 0; i < query_tiles(p); ++i) {
      const int64_t i0 = i * kQueryBlock, rows = std::min(kQueryBlock, p.queries - i0);
      for (int64_t j = 0; j < key_tiles(p); ++j) {
        const int64_t j0 = j * kKeyBlock;
        if (!tiles_meet(p, i0, rows, j0, std::min(kKeyBlock, p.keys - j0))) continue;
        ++per_query_tile[i], ++per_key_tile[j], ++total;
      }
    }
  }
};

// The units of the schedules, in order, each with its running cost in products (a block costs
// 5 in one pass, 4 in pass 1 and 3 in pass 2; a unit 1 more for its setup).
//   one pass   (call, b, kv_head)
//   pass 1     (call, b, kv_head, key tile)
//   pass 2     (call, b, h, query tile)
struct BackwardPlan {
  std::vector<int64_t> one_pass{0}, pass_1{0}, pass_2{0};                      // cost_before
  std::vector<int64_t> first_head{0}, first_key_unit{0}, first_query_unit{0};  // per call: first unit
  explicit BackwardPlan(std::span<const FlashBackwardCall> calls) {
    for (const FlashBackwardCall& call : calls) {
      const FlashAttentionProblem& p = call.problem;
      const BlockCounts counts(p);
      const int64_t group = p.heads / p.kv_heads;
      for (int64_t head = 0; head < p.batch * p.kv_heads; ++head) {
        one_pass.push_back(one_pass.back() + 1 + 5 * group * counts.total);
        for (int64_t n : counts.per_key_tile) pass_1.push_back(pass_1.back() + 1 + 4 * group * n);
      }
      for (int64_t bh = 0; bh < p.batch * p.heads; ++bh) {
        for (int64_t n : counts.per_query_tile) pass_2.push_back(pass_2.back() + 1 + 3 * n);
      }
      first_head.push_back(first_head.back() + p.batch * p.kv_heads);
      first_key_unit.push_back(static_cast<int64_t>(pass_1.size()) - 1);
      first_query_unit.push_back(static_cast<int64_t>(pass_2.size()) - 1);
    }
  }
};

// The largest chunk's cost when parallel_for_balanced cuts these units on the current threads.
int64_t slowest_chunk(const std::vector<int64_t>& cost_before) {
  const int threads = static_cast<int>(std::min<int64_t>(num_threads(), static_cast<int64_t>(cost_before.size()) - 1));
  if (threads <= 1 || in_parallel_region()) return cost_before.back();
  const std::vector<int64_t> bounds = balanced_bounds(cost_before, threads);
  int64_t slowest = 0;
  for (int c = 0; c < threads; ++c) slowest = std::max(slowest, cost_before[bounds[c + 1]] - cost_before[bounds[c]]);
  return slowest;
}

// Which call a unit belongs to: the last c with first[c] <= unit, searched forward from c.
size_t call_of(const std::vector<int64_t>& first, int64_t unit, size_t c) {
  while (unit >= first[c + 1]) ++c;
  return c;
}
size_t first_call_of(const std::vector<int64_t>& first, int64_t unit) {
  return std::upper_bound(first.begin(), first.end(), unit) - first.begin() - 1;
}

// Scratch for every call's blocks: dropout and soft-cap buffers when any call needs them.
FlashAttentionProblem scratch_shape(std::span<const FlashBackwardCall> calls) {
  FlashAttentionProblem shape;
  for (const FlashBackwardCall& call : calls) {
    shape.dropout_p = std::max(shape.dropout_p, call.problem.dropout_p);
    shape.softcap = std::max(shape.softcap, call.problem.softcap);
    shape.keys = std::max(shape.keys, call.problem.keys);
    shape.head_dim = std::max(shape.head_dim, call.problem.head_dim);
    shape.value_dim = std::max(shape.value_dim, call.problem.value_dim);
  }
  return shape;
}

// Runs unit(problem, tensors, index of the unit within its call, scratch) for every unit of a
// schedule (cost_before, cut by parallel_for_balanced); call c's units start at first[c].
template <typename Unit>
void for_each_unit(std::span<const FlashBackwardCall> calls, const std::vector<int64_t>& cost_before,
                   const std::vector<int64_t>& first, bool packs_heads, Unit unit) {
  const FlashAttentionProblem shape = scratch_shape(calls);
  parallel_for_balanced(cost_before, [&](int64_t begin, int64_t end) {
    BackwardScratch scratch(shape, packs_heads);
    for (int64_t u = begin, c = first_call_of(first, begin); u < end; ++u) {
      c = call_of(first, u, c);
      unit(c, calls[c].problem, tensors_of(calls[c]), u - first[c], scratch);
    }
  });
}

// One pass: unit (call, b, kv_head) writes dK, dV of its head and dQ of its group's query heads.
void backward_by_head(std::span<const FlashBackwardCall> calls, const BackwardPlan& plan) {
  for_each_unit(
      calls, plan.one_pass, plan.first_head, true,
      [](size_t, const FlashAttentionProblem& p, const BackwardTensors& t, int64_t head, BackwardScratch& scratch) {
        const int64_t b = head / p.kv_heads, kv_head = head % p.kv_heads, group = p.heads / p.kv_heads;
        pack_head(p, b, kv_head, scratch.keys.data(), scratch.values.data());
        const PackedHead packed{scratch.keys.data(), scratch.values.data()};
        zero_rows(t.dk, p.k_layout(), b, kv_head, 0, p.keys, p.head_dim);
        zero_rows(t.dv, p.v_layout(), b, kv_head, 0, p.keys, p.value_dim);
        for (int64_t h = kv_head * group; h < (kv_head + 1) * group; ++h) {
          zero_rows(t.dq, p.q_layout(), b, h, 0, p.queries, p.head_dim);
        }
        for (int64_t j0 = 0; j0 < p.keys; j0 += kKeyBlock) {
          const int64_t cols = std::min(kKeyBlock, p.keys - j0);
          key_tile_blocks(p, t, packed, BlockOutputs::kAll, b, kv_head, j0, cols, scratch);
        }
      });
}

// K and V of every head of every call, packed once for both passes.
struct PackedHeads {
  std::vector<int64_t> key_at, value_at;  // per (call, b, kv_head) head, in plan.first_head order
  Tensor<float> keys, values;
  PackedHeads(std::span<const FlashBackwardCall> calls, const BackwardPlan& plan) {
    int64_t key_size = 0, value_size = 0;
    for (const FlashBackwardCall& call : calls) {
      for (int64_t head = 0; head < call.problem.batch * call.problem.kv_heads; ++head) {
        key_at.push_back(key_size);
        value_at.push_back(value_size);
        key_size += packed_panels_size(call.problem.keys, call.problem.head_dim);
        value_size += packed_panels_size(call.problem.keys, call.problem.value_dim);
      }
    }
    keys = Tensor<float>::empty({key_size});
    values = Tensor<float>::empty({value_size});
    parallel_for(plan.first_head.back(), 1, [&](int64_t begin, int64_t end) {
      for (int64_t head = begin, c = first_call_of(plan.first_head, begin); head < end; ++head) {
        c = call_of(plan.first_head, head, c);
        const FlashAttentionProblem& p = calls[c].problem;
        const int64_t local = head - plan.first_head[c];
        pack_head(p, local / p.kv_heads, local % p.kv_heads, keys.data() + key_at[head],
                  values.data() + value_at[head]);
      }
    });
  }
  PackedHead operator[](int64_t head) const { return {keys.data() + key_at[head], values.data() + value_at[head]}; }
};

// Two passes over K and V packed for every head up front.
void backward_by_tile(std::span<const FlashBackwardCall> calls, const BackwardPlan& plan) {
  const PackedHeads packed(calls, plan);
  // Pass 1: unit (call, b, kv_head, key tile j) writes dK_j, dV_j.
  for_each_unit(
      calls, plan.pass_1, plan.first_key_unit, false,
      [&](size_t c, const FlashAttentionProblem& p, const BackwardTensors& t, int64_t unit, BackwardScratch& scratch) {
        const int64_t head = unit / key_tiles(p), b = head / p.kv_heads, kv_head = head % p.kv_heads;
        const int64_t j0 = unit % key_tiles(p) * kKeyBlock, cols = std::min(kKeyBlock, p.keys - j0);
        zero_rows(t.dk, p.k_layout(), b, kv_head, j0, j0 + cols, p.head_dim);
        zero_rows(t.dv, p.v_layout(), b, kv_head, j0, j0 + cols, p.value_dim);
        key_tile_blocks(p, t, packed[plan.first_head[c] + head], BlockOutputs::kKeysAndValues, b, kv_head, j0, cols,
                        scratch);
      });
  // Pass 2: unit (call, b, h, query tile i) writes dQ_i.
  for_each_unit(
      calls, plan.pass_2, plan.first_query_unit, false,
      [&](size_t c, const FlashAttentionProblem& p, const BackwardTensors& t, int64_t unit, BackwardScratch& scratch) {
        const int64_t b = unit / (p.heads * query_tiles(p)), h = unit / query_tiles(p) % p.heads;
        const int64_t i0 = unit % query_tiles(p) * kQueryBlock, rows = std::min(kQueryBlock, p.queries - i0);
        const PackedHead head = packed[plan.first_head[c] + b * p.kv_heads + h / (p.heads / p.kv_heads)];
        zero_rows(t.dq, p.q_layout(), b, h, i0, i0 + rows, p.head_dim);
        tile_deltas(p, t, b, h, i0, rows, scratch);
        for (int64_t j0 = 0; j0 < p.keys; j0 += kKeyBlock) {
          const int64_t cols = std::min(kKeyBlock, p.keys - j0);
          if (!tiles_meet(p, i0, rows, j0, cols)) continue;
          backward_block(p, t, head, BlockOutputs::kQueries, b, h, i0, j0, cols, scratch);
        }
      });
}

bool splits_over_tiles(const BackwardPlan& plan) {
  return slowest_chunk(plan.pass_1) + slowest_chunk(plan.pass_2) < slowest_chunk(plan.one_pass);
}

}  // namespace

// Two passes when they finish sooner than one: the slowest thread's products in each schedule,
// with the units cut as parallel_for_balanced will cut them.
bool backward_splits_over_tiles(std::span<const FlashBackwardCall> calls) {
  return splits_over_tiles(BackwardPlan(calls));
}

bool backward_splits_over_tiles(const FlashAttentionProblem& p) {
  const FlashBackwardCall call{p};
  return backward_splits_over_tiles(std::span<const FlashBackwardCall>(&call, 1));
}

void flash_attention_backward(std::span<const FlashBackwardCall> calls) {
  const BackwardPlan plan(calls);
  if (splits_over_tiles(plan)) {
    backward_by_tile(calls, plan);
  } else {
    backward_by_head(calls, plan);
  }
}

void flash_attention_backward(const FlashAttentionProblem& p, const float* out, const float* log_sum_exp,
                              const float* d_out, float* dq, float* dk, float* dv, float* d_additive) {
  const FlashBackwardCall call{p, out, log_sum_exp, d_out, dq, dk, dv, d_additive};
  flash_attention_backward(std::span<const FlashBackwardCall>(&call, 1));
}

}  // namespace attend::kernels
