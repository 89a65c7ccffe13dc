// Attention pooling: a sequence x (B, N, D) to one vector per batch row (B, D), as a weighted
// mean whose weights come from a learned score of each element.
//
//   learned query  s_n = x_n . w / sqrt(D)               w (D); a single learned seed query, as in
//                                                        the Set Transformer's pooling by attention
//                                                        (Lee et al. 2019), without projections
//   additive       s_n = u . tanh(W x_n + b)             W (A, D), b (A), u (A); Yang et al. 2016
//                                                        ("Hierarchical attention networks")
//   a = softmax(s) over n, padding excluded;  out = sum_n a_n x_n
//
// A batch row whose every element is padding gets weights 0 and output 0, with zero gradients.
// The functions take the parameters as tensors; nn::AttentionPooling (nn/attention_pooling.h)
// owns them.
#pragma once

#include <cstdint>

#include "attend/core/tensor.h"

namespace attend {

enum class PoolingMode {
  kLearnedQuery,  // s_n = x_n . w / sqrt(D)
  kAdditive,      // s_n = u . tanh(W x_n + b)
};

template <typename T>
struct AttentionPoolingResult {
  Tensor<T> output;   // (B, D)
  Tensor<T> weights;  // (B, N); rows sum to 1, or to 0 where every element is padding
};

// x (B, N, D), scores (B, N) -> a = softmax(scores) over n, output sum_n a_n x_n (B, D).
// key_padding_mask (B, N) or undefined; nonzero = padding, never attended.
template <typename T>
AttentionPoolingResult<T> pool_with_scores(const Tensor<T>& x, const Tensor<T>& scores,
                                           const MaskTensor& key_padding_mask = MaskTensor());

// x (B, N, D), query (D): scores x_n . query / sqrt(D). D >= 1.
template <typename T>
AttentionPoolingResult<T> learned_query_pooling(const Tensor<T>& x, const Tensor<T>& query,
                                                const MaskTensor& key_padding_mask = MaskTensor());

// x (B, N, D), weight (A, D), bias (A), score_weight (A): scores u . tanh(W x_n + b).
template <typename T>
AttentionPoolingResult<T> additive_pooling(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias,
                                           const Tensor<T>& score_weight,
                                           const MaskTensor& key_padding_mask = MaskTensor());

}  // namespace attend
