// Packed variable-length attention: a batch of B sequences of different lengths stored one after
// another, T = n_0 + ... + n_{B-1} tokens with no padding, each sequence attending only within
// itself (FlashAttention's "varlen" layout). A batch costs what its tokens cost:
//
//   q (T, H, D), k (T, H_kv, D), v (T, H_kv, D_v); offsets o_s = n_0 + ... + n_{s-1}
//   for each sequence s and head h, with rows r = o_s .. o_s + n_s - 1:
//     O[r, h] = softmax(q[r, h] k[r, h_kv]^T * scale + masks) v[r, h_kv]     (n_s, D_v)
//   -> O (T, H, D_v)
//
// Each sequence is attended as a batch of one, with the arithmetic of scaled_dot_product_attention
// on it (so every option that does not name the batch, and its gradient): its result is bitwise
// the same whatever other sequences share the pack and whatever the thread count. Float32 (on
// the fused kernels): the forward kernel reads each sequence's rows of q, k and v where they are,
// at their strides (say, views of one (T, 3, H, D) projection), and writes O once, in one
// parallel loop over (sequence, head, query tile) for the whole pack (FlashAttention's varlen
// kernels); with a gradient, the pack is one recorded op whose backward is one such call too,
// writing every sequence's rows of dq, dk, dv (O(T) work, no per-sequence copies).
// Float64, or the reference implementation: each sequence goes through
// scaled_dot_product_attention on a tape of its own, run one by one in the backward. Options that
// carry a batch axis (mask, additive_mask, key_padding_mask) are refused: packing replaces
// padding. Dropout draws sequence s's mask from dropout_seed + s. need_weights and
// need_log_sum_exp are refused too (their shapes differ per sequence): call
// scaled_dot_product_attention on one sequence for those.
#pragma once

#include <cstdint>
#include <vector>

#include "attend/attention/scaled_dot_product.h"
#include "attend/core/tensor.h"

namespace attend {

// ShapeError unless q, k, v are (T, H, D), (T, H_kv, D), (T, H_kv, D_v) with H a multiple of
// H_kv; ValueError unless every length is positive and they sum to T.
template <typename T>
Tensor<T> packed_attention(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v,
                           const std::vector<int64_t>& sequence_lengths, const AttentionOptions<T>& options = {});

// Self-attention of a pack from one projection, qkv (T, 3, H, D) -> O (T, H, D):
//   q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]   (T, H, D) each
// as FlashAttention's "qkvpacked" varlen function: packed_attention's values and bits on the three
// views, but on the fused kernels the gradient is one (T, 3, H, D) tensor written in place,
// instead of three of that shape (one per view) summed. ShapeError unless qkv is (T, 3, H, D).
template <typename T>
Tensor<T> packed_self_attention(const Tensor<T>& qkv, const std::vector<int64_t>& sequence_lengths,
                                const AttentionOptions<T>& options = {});

}  // namespace attend
