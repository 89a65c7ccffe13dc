// Packed variable-length attention: a batch of B sequences of different lengths stored one after
// another, T = n_0 + ... + n_{B-1} tokens with no padding, each sequence attending only within
// itself (FlashAttention's "varlen" layout). A batch costs what its tokens cost:
//
//   q (T, H, D), k (T, H_kv, D), v (T, H_kv, D_v); offsets o_s = n_0 + ... + n_{s-1}
//   for each sequence s and head h, with rows r = o_s .. o_s + n_s - 1:
//     O[r, h] = softmax(q[r, h] k[r, h_kv]^T * scale + masks) v[r, h_kv]     (n_s, D_v)
//   -> O (T, H, D_v)
//
// Each sequence goes through scaled_dot_product_attention (so the fused kernels, every option
// that does not name the batch, and its gradient) as a batch of one: its result is bitwise the
// same whatever other sequences share the pack and whatever the thread count. With a gradient to
// record, the pack is one op: each sequence's attention is recorded on a tape of its own and the
// op's backward runs them one by one, writing each sequence's rows of dq, dk, dv (so backward
// costs O(T), not a whole-pack gradient per sequence summed B times). Float32 inference
// (no gradient to record, no option but causal) skips the per-sequence copies: the fused forward
// kernel reads each sequence's rows of q, k and v where they are, at their strides (say, views
// of one (T, 3, H, D) projection), and writes O once, with the same bits. Options that
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

}  // namespace attend
