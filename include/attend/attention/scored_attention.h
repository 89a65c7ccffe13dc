// Attention with any score function, soft or hard.
//
//   S = score(Q, K)                                   (B, N, M)   dot, general, additive, ...
//   S[i, j] = -inf where (i, j) is not allowed        mask, key padding, causal
//   soft: P = softmax(S) over j                       Bahdanau et al. 2015; Luong et al. 2015
//   hard: P[i, j] = [j = argmax_j' S[i, j']]          Xu et al. 2015 ("Show, attend and tell")
//   O = P V                                           (B, N, Dv)
//
// Hard attention picks one key per query: the allowed key with the largest score, the lowest
// index on ties. Its weights are piecewise constant in the scores, so no gradient reaches the
// scores (nor q, k, or the score function's parameters); the gradient flows to V only. Xu et al.
// train hard attention with a REINFORCE estimator instead; this is the deterministic argmax used
// at inference, and what such estimators are built on.
//
// A query with no allowed key (a fully masked row) gets weights 0 and output 0, with zero
// gradients, never NaN. A NaN among a row's allowed scores makes that row's weights NaN in both
// modes. A NaN in V reaches every row, even through a zero weight (0 * NaN is NaN).
#pragma once

#include <cstdint>

#include "attend/core/tensor.h"

namespace attend {

enum class AttentionMode {
  kSoft,  // softmax weights: differentiable in the scores
  kHard,  // one-hot at the argmax of the allowed scores: gradient to V only
};

// Every member has an initializer so that designated initializers may name any subset of them
// ({.causal = true}) without -Wmissing-field-initializers.
struct ScoredAttentionOptions {
  MaskTensor mask{};              // broadcastable to (B, N, M); nonzero = may attend
  MaskTensor key_padding_mask{};  // (B, M); nonzero = padding, never attended
  bool causal = false;            // query i attends keys j <= i (top-left: query i at key position i)
  AttentionMode mode = AttentionMode::kSoft;
};

template <typename T>
struct ScoredAttentionResult {
  Tensor<T> output;   // (B, N, Dv)
  Tensor<T> weights;  // (B, N, M); rows sum to 1, or to 0 where every key is masked
};

// The attention half of the pipeline, from scores already computed (nn::ScoredAttention computes
// them with a score module): scores (B, N, M), v (B, M, Dv) -> output (B, N, Dv) and weights
// (B, N, M).
template <typename T>
ScoredAttentionResult<T> attention_from_scores(const Tensor<T>& scores, const Tensor<T>& v,
                                               const ScoredAttentionOptions& options = {});

// The positions options forbid, (B, N, M), contiguous: 1 where query i may not attend key j
// (mask zero, key padded, or j > i when causal), 0 elsewhere.
MaskTensor blocked_positions(int64_t batch, int64_t queries, int64_t keys, const ScoredAttentionOptions& options);

// ShapeError naming `op` unless options.mask broadcasts to the scores (B, N, M) = (batch, queries,
// keys) and options.key_padding_mask is (B, M); for callers that check before computing scores.
void check_scored_attention_masks(const char* op, int64_t batch, int64_t queries, int64_t keys,
                                  const ScoredAttentionOptions& options);

// One-hot rows at the argmax of masked_scores (B, N, M) along the last axis, lowest index on
// ties; rows of -inf give zeros and rows holding a NaN give NaN. A constant: no autograd history.
template <typename T>
Tensor<T> hard_attention_weights(const Tensor<T>& masked_scores);

}  // namespace attend
