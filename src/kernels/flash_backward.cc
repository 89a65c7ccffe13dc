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
// Work is split over (batch, key/value head): a unit owns dK, dV of its head and dQ of every
// query head that reads it, so no two threads write the same element and the order of every
// sum is fixed: results are bitwise identical for any thread count. FLOPs: 10 B H N M D.
// The five products are tile_products.h's micro-kernels; a unit packs its K and V once.
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
  Tensor<float> packed_keys;      // K of the unit's head, packed (tile_products.h)
  Tensor<float> packed_values;    // V of the unit's head, packed
  std::vector<float> delta;       // (Br)
  explicit BackwardScratch(const FlashAttentionProblem& p)
      : probabilities(Tensor<float>::empty({kQueryBlock, kKeyBlock})),
        dropped(Tensor<float>::empty({kQueryBlock, kKeyBlock})),
        kept(p.dropout_p > 0 ? kQueryBlock * kKeyBlock : 0),
        d_probabilities(Tensor<float>::empty({kQueryBlock, kKeyBlock})),
        softcap_tanh(p.softcap > 0 ? Tensor<float>::empty({kQueryBlock, kKeyBlock}) : Tensor<float>()),
        packed_keys(Tensor<float>::empty({packed_panels_size(p.keys, p.head_dim)})),
        packed_values(Tensor<float>::empty({packed_panels_size(p.keys, p.value_dim)})),
        delta(kQueryBlock) {}
};

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
void backward_block(const FlashAttentionProblem& p, const BackwardTensors& t, int64_t b, int64_t h, int64_t i0,
                    int64_t j0, int64_t cols, BackwardScratch& scratch) {
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
  times_packed_transposed(q, qs[2], rows, scratch.packed_keys.data(), j0, cols, p.head_dim, prob, kKeyBlock);
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
  accumulate_product(used, 1, kKeyBlock, cols, rows, d_out, os[2], p.value_dim, dv, vs[2]);
  // dP = dO_i V_j^T (through the dropout mask)
  times_packed_transposed(d_out, os[2], rows, scratch.packed_values.data(), j0, cols, p.value_dim, dprob, kKeyBlock);
  for (int64_t r = 0; r < rows; ++r) {
    float* dpr = dprob + r * kKeyBlock;
    if (p.dropout_p > 0) {
      multiply_by_keep_bytes(scratch.kept.data() + r * kKeyBlock, cols, dropout_kept_scale(p), dpr, dpr);
    }
    // dS = P * (dP - delta)
    softmax_backward_row_in_place(prob + r * kKeyBlock, dpr, cols, scratch.delta[r]);
    if (t.d_additive) {
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
  accumulate_product(dprob, kKeyBlock, 1, rows, cols, k, ks[2], p.head_dim, dq, qs[2]);
  accumulate_product(dprob, 1, kKeyBlock, cols, rows, q, qs[2], p.head_dim, dk, ks[2]);
}

}  // namespace

void flash_attention_backward(const FlashAttentionProblem& p, const float* out, const float* log_sum_exp,
                              const float* d_out, float* dq, float* dk, float* dv, float* d_additive) {
  const BackwardTensors t{out, log_sum_exp, d_out, dq, dk, dv, d_additive};
  const std::array<int64_t, 3> qs = p.q_layout(), ks = p.k_layout(), vs = p.v_layout(), os = p.out_layout();
  const int64_t group = p.heads / p.kv_heads;
  const int64_t query_tiles = (p.queries + kQueryBlock - 1) / kQueryBlock;
  parallel_for(p.batch * p.kv_heads, 1, [&](int64_t begin, int64_t end) {
    BackwardScratch scratch(p);
    for (int64_t unit = begin; unit < end; ++unit) {
      const int64_t b = unit / p.kv_heads, kv_head = unit % p.kv_heads;
      const int64_t k_head = b * ks[0] + kv_head * ks[1], v_head = b * vs[0] + kv_head * vs[1];
      pack_panels(p.k + k_head, ks[2], p.keys, p.head_dim, scratch.packed_keys.data());
      pack_panels(p.v + v_head, vs[2], p.keys, p.value_dim, scratch.packed_values.data());
      // This unit's outputs start at zero.
      for (int64_t j = 0; j < p.keys; ++j) {
        std::fill_n(dk + k_head + j * ks[2], p.head_dim, 0.0f);
        std::fill_n(dv + v_head + j * vs[2], p.value_dim, 0.0f);
      }
      for (int64_t h = kv_head * group; h < (kv_head + 1) * group; ++h) {
        for (int64_t i = 0; i < p.queries; ++i) std::fill_n(dq + b * qs[0] + h * qs[1] + i * qs[2], p.head_dim, 0.0f);
      }
      for (int64_t j0 = 0; j0 < p.keys; j0 += kKeyBlock) {
        const int64_t cols = std::min(kKeyBlock, p.keys - j0);
        for (int64_t h = kv_head * group; h < (kv_head + 1) * group; ++h) {
          for (int64_t tile = 0; tile < query_tiles; ++tile) {
            const int64_t i0 = tile * kQueryBlock;
            const int64_t rows = std::min(kQueryBlock, p.queries - i0);
            const auto [first, last] = key_range(p, i0, i0 + rows);
            if (j0 + cols <= first || j0 >= last) continue;  // skipped by index arithmetic
            // delta_r = dO_r . O_r
            for (int64_t r = 0; r < rows; ++r) {
              const int64_t row = b * os[0] + h * os[1] + (i0 + r) * os[2];
              scratch.delta[r] = dot(d_out + row, out + row, p.value_dim);
            }
            backward_block(p, t, b, h, i0, j0, cols, scratch);
          }
        }
      }
    }
  });
}

}  // namespace attend::kernels
