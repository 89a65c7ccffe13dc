// Attention score functions: how well query i matches key j, before any softmax.
//
//   dot         s_ij = q_i . k_j                                  Luong et al. 2015 ("dot")
//   scaled dot  s_ij = q_i . k_j / sqrt(D)                        Vaswani et al. 2017
//   general     s_ij = q_i W k_j                                  Luong et al. 2015 ("general")
//   additive    s_ij = v . tanh(q_i Wq + k_j Wk)                  Bahdanau et al. 2015 ("concat")
//   cosine      s_ij = exp(t) q_i . k_j / (max(|q_i|, eps) max(|k_j|, eps)),  eps = 1e-8
//                                                                 Graves et al. 2014 (NTM content
//                                                                 addressing), Liu et al. 2022
//                                                                 (Swin Transformer v2)
//
// Every function maps q (B, N, Dq) and k (B, M, Dk) to scores (B, N, M) and is built from
// differentiable ops, so gradients reach q, k and every parameter tensor. These functional forms
// take their parameters as tensors (what the op harness checks); the modules of
// nn/score_modules.h own them. docs/score_functions.md has examples.
#pragma once

#include <cstdint>

#include "attend/core/tensor.h"

namespace attend {

// Below this norm a vector counts as zero in cosine_scores: dividing by max(|x|, eps) keeps a
// zero vector's scores at 0 (not NaN), as torch.nn.functional.cosine_similarity does.
inline constexpr double kCosineNormEpsilon = 1e-8;

// q (B, N, D), k (B, M, D) -> (B, N, M): q k^T.
template <typename T>
Tensor<T> dot_scores(const Tensor<T>& q, const Tensor<T>& k);

// q (B, N, D), k (B, M, D) -> (B, N, M): q k^T / sqrt(D). D >= 1.
template <typename T>
Tensor<T> scaled_dot_scores(const Tensor<T>& q, const Tensor<T>& k);

// q (B, N, Dq), k (B, M, Dk), weight (Dq, Dk) -> (B, N, M): q W k^T.
template <typename T>
Tensor<T> general_scores(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& weight);

// q (B, N, Dq), k (B, M, Dk), query_weight (Dq, A), key_weight (Dk, A), score_weight (A)
// -> (B, N, M): s_ij = sum_a score_weight[a] tanh((q Wq)[i, a] + (k Wk)[j, a]).
// Builds the (B, N, M, A) hidden tensor by broadcasting (B, N, 1, A) + (B, 1, M, A).
template <typename T>
Tensor<T> additive_scores(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& query_weight,
                          const Tensor<T>& key_weight, const Tensor<T>& score_weight);

// The second half of additive_scores, for callers that project once and score many times (a
// recurrent decoder projects its keys once per sequence and one query per step):
// projected_q (B, N, A) = q Wq, projected_k (B, M, A) = k Wk, score_weight (A) -> (B, N, M).
template <typename T>
Tensor<T> additive_scores_from_projections(const Tensor<T>& projected_q, const Tensor<T>& projected_k,
                                           const Tensor<T>& score_weight);

// q (B, N, D), k (B, M, D), log_temperature () -> (B, N, M): exp(log_temperature) times the
// cosine similarity of q_i and k_j. The factor multiplies (it is Swin v2's 1 / tau), and its
// logarithm is the parameter so that it stays positive under gradient descent.
template <typename T>
Tensor<T> cosine_scores(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& log_temperature);

}  // namespace attend
