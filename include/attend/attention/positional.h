// Positional encodings: how attention, which by itself ignores order, learns where tokens are.
//
//   absolute, added to the token embeddings before the first layer
//     sinusoidal_positional_encoding   fixed sin/cos table          Vaswani et al. 2017
//     learned_positional_embedding     a trained table of rows      Gehring et al. 2017, GPT, BERT
//   relative, inside every attention layer
//     shaw_score_bias, shaw_value_term clipped distance tables      Shaw, Uszkoreit & Vaswani 2018
//     t5_relative_bias                 log-bucketed per-head bias   Raffel et al. 2020 (T5)
//     apply_rotary_embedding           rotate q and k by position   Su et al. 2021 (RoFormer, RoPE)
//
// Positions. Query i sits at key position i' = i + offset, key j at position j. offset = 0 is
// top-left alignment; offset = M - N is bottom-right, as when N new queries follow M - N cached
// keys. The relative encodings accept any offset (negative too); the absolute ones need
// offset >= 0 because positions index a table or start a rotation at 0.
//
// The functions take their tables as tensors; the modules that own them as parameters are in
// nn/positional_embedding.h. See docs/positional.md.
#pragma once

#include <cstdint>

#include "attend/core/tensor.h"

namespace attend {

// ---- absolute: sinusoidal (Vaswani et al. 2017, section 3.5) ----

// (length, dim): PE[p, 2i] = sin(p / base^(2i / dim)), PE[p, 2i + 1] = cos(p / base^(2i / dim)).
// An odd dim ends with a sin column. Computed in double, then rounded to T; not a parameter.
template <typename T>
Tensor<T> sinusoidal_positional_encoding(int64_t length, int64_t dim, double base = 10000);

// ---- absolute: learned ----

// weight (max_length, dim) -> (length, dim): rows offset .. offset + length - 1, a view of the
// weight (differentiable). ValueError when offset + length > max_length.
template <typename T>
Tensor<T> learned_positional_embedding(const Tensor<T>& weight, int64_t length, int64_t offset = 0);

// ---- relative: Shaw, Uszkoreit & Vaswani 2018, "Self-attention with relative position
// representations" ----
//
//   rel(i, j) = clip(j - i', -K, K) + K        in [0, 2K]; K = max_distance, i' = i + offset
//   e_ij = (q_i . k_j + q_i . a^K_rel(i,j)) * scale       (their eq. 4: the bias is added to the
//   z_i  = sum_j P_ij (v_j + a^V_rel(i,j))                  raw scores, before the scaling)
//
// So the caller forms S = (Q K^T + shaw_score_bias(...)) * scale, softmaxes it to P, and adds
// shaw_value_term(P, ...) to P V. (Through scaled_dot_product_attention: pass
// additive_mask = bias * scale, since that mask is added after the scaling.)

// 2K + 1, the rows of a distance table for K = max_distance. ValueError naming `op` unless
// 0 <= K < 2^62 (distances beyond would overflow j - i').
int64_t shaw_table_rows(int64_t max_distance, const char* op);

// q (..., N, D), key_table (2K + 1, D) -> (..., N, M): out[.., i, j] = q_i . key_table[rel(i, j)].
// Costs one product q @ key_table^T (..., N, 2K + 1), then a gather along the last axis.
template <typename T>
Tensor<T> shaw_score_bias(const Tensor<T>& q, const Tensor<T>& key_table, int64_t keys, int64_t max_distance,
                          int64_t offset = 0);

// weights (..., N, M), value_table (2K + 1, D_v) -> (..., N, D_v):
// out[.., i, :] = sum_j weights[.., i, j] value_table[rel(i, j)]. Sums the weights that share a
// distance (..., N, 2K + 1), then one product with the table.
template <typename T>
Tensor<T> shaw_value_term(const Tensor<T>& weights, const Tensor<T>& value_table, int64_t max_distance,
                          int64_t offset = 0);

// ---- relative: T5 buckets (Raffel et al. 2020, "Exploring the limits of transfer learning with
// a unified text-to-text transformer", section 2.1; the formula of their released code) ----
//
//   bidirectional: n = num_buckets / 2 buckets per sign; keys after the query (d > 0) use
//                  buckets n .., keys before it 0 ..; d = |d|
//   causal:        n = num_buckets; d = max(-d, 0) (keys after the query share bucket 0)
//   max_exact = n / 2
//   bucket += d                                                        if d < max_exact
//   bucket += min(n - 1, max_exact + floor(log(d / max_exact)
//                         / log(max_distance / max_exact) * (n - max_exact)))   otherwise
//
// relative_position = j - i' (key minus query). The logarithm is taken in double (the released
// code uses float32; the two can differ only where the quotient lands within ~1e-7 of an
// integer). ValueError unless max_exact >= 1 and max_distance > max_exact.
int64_t t5_relative_bucket(int64_t relative_position, bool bidirectional, int64_t num_buckets, int64_t max_distance);

// bias_table (num_buckets, H) -> (1, H, N, M): out[0, h, i, j] = bias_table[bucket(j - i'), h],
// an additive bias for the attention scores (T5 adds it unscaled; its scores are not scaled).
template <typename T>
Tensor<T> t5_relative_bias(const Tensor<T>& bias_table, int64_t queries, int64_t keys, bool bidirectional,
                           int64_t max_distance, int64_t offset = 0);

// ---- rotary (Su et al. 2021, "RoFormer: enhanced transformer with rotary position embedding") ----
//
//   theta_i = base^(-2i / D),  i in [0, D/2);  at position p = offset + n:
//   (a, b) -> (a cos(p theta_i) - b sin(p theta_i),  a sin(p theta_i) + b cos(p theta_i))
//
// Applied to q and k (never v), it makes q_m . k_n a function of m - n only.
enum class RotaryStyle {
  kHalf,         // pair i is (i, i + D/2): GPT-NeoX, LLaMA
  kInterleaved,  // pair i is (2i, 2i + 1): RoFormer, GPT-J
};

// x (..., N, D), usually (B, H, N, D), D even -> same shape. Angles in double.
template <typename T>
Tensor<T> apply_rotary_embedding(const Tensor<T>& x, int64_t offset = 0, double base = 10000,
                                 RotaryStyle style = RotaryStyle::kHalf);

}  // namespace attend
