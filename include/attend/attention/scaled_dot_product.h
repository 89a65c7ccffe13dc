// Scaled dot-product attention (Vaswani et al., "Attention is all you need", 2017), the
// reference ("math") path: exact, differentiable through the tape, and the ground truth that
// fused kernels are tested against.
//
//   S = Q K^T * scale                              (B, H, N, M)
//   S = cap * tanh(S / cap)                        logit soft-capping, when softcap > 0
//   S = S + additive_mask - slope_h * |i' - j|     ALiBi (Press et al. 2022), when slopes given
//   S[i, j] = -inf where (i, j) is not allowed     boolean mask, key padding, causal, window
//   P = softmax(S) over j;  P = dropout(P)
//   O = P V                                        (B, H, N, D_v)
//
// Layouts: q (B, H, N, D), k (B, H_kv, M, D), v (B, H_kv, M, D_v). With H_kv < H (grouped-query
// attention; H_kv = 1 is multi-query), query head h uses key/value head h / (H / H_kv); K and V
// are broadcast, never copied.
//
// Positions: query i sits at key position i' = i (top-left alignment, the default) or
// i' = i + M - N (bottom-right, as when N new queries follow M - N cached keys). Causal allows
// j <= i'; a window (left, right) allows i' - left <= j <= i' + right.
//
// Fully masked rows (no key allowed) give output 0, log-sum-exp -inf, and zero gradients. A NaN
// in an allowed score makes its row NaN. A NaN in V reaches every row, even through a zero
// weight (0 * NaN is NaN): pad V with finite values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "attend/core/tensor.h"

namespace attend {

enum class CausalAlignment {
  kTopLeft,      // query i at key position i
  kBottomRight,  // query i at key position i + M - N
};

// Which code computes the attention. kAuto picks the fused, memory-linear kernels (float32)
// whenever they support the call and the reference path otherwise; ATTEND_LOG=debug prints the
// choice and the reason. kFused on an unsupported call is an error, never a silent fallback.
// The fused path returns need_weights' P as a constant (recomputed from the log-sum-exp, no
// history), so a call that wants P while a gradient is recorded (grad enabled, an input that
// requires grad) goes to the reference path, whose P is differentiable.
enum class AttentionImplementation {
  kAuto,
  kReference,  // composed ops: materializes the (B, H, N, M) scores; float and double
  kFused,      // tiled online-softmax kernels (forward, backward, decode); float only
};

template <typename T>
struct AttentionOptions {
  std::optional<double> scale;  // default 1 / sqrt(D)
  MaskTensor mask;              // broadcastable to (B, H, N, M); nonzero = may attend
  Tensor<T> additive_mask;      // broadcastable to (B, H, N, M); added to the scores
  MaskTensor key_padding_mask;  // (B, M); nonzero = padding, never attended
  bool causal = false;
  CausalAlignment alignment = CausalAlignment::kTopLeft;
  std::optional<int64_t> window_left;   // sliding window: keys at most this far before i'
  std::optional<int64_t> window_right;  // and at most this far after i'
  Tensor<T> alibi_slopes;               // (H): bias -slope_h * |i' - j|
  double softcap = 0.0;                 // > 0: S = softcap * tanh(S / softcap)
  double dropout_p = 0.0;               // on the attention weights, in [0, 1)
  uint64_t dropout_seed = 0;
  bool need_weights = false;      // return P (after dropout) as well
  bool need_log_sum_exp = false;  // return log sum_j exp(S_ij) per row
  AttentionImplementation implementation = AttentionImplementation::kAuto;
};

template <typename T>
struct AttentionResult {
  Tensor<T> output;       // (B, H, N, D_v)
  Tensor<T> weights;      // (B, H, N, M) when need_weights
  Tensor<T> log_sum_exp;  // (B, H, N) when need_log_sum_exp
};

template <typename T>
AttentionResult<T> scaled_dot_product_attention(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v,
                                                const AttentionOptions<T>& options = {});

// The implementation `options.implementation` resolves to for these inputs, with the reason.
template <typename T>
std::pair<AttentionImplementation, std::string> choose_attention_implementation(const Tensor<T>& q, const Tensor<T>& k,
                                                                                const Tensor<T>& v,
                                                                                const AttentionOptions<T>& options);

// The boolean "may attend" pattern of causal/window/key-padding/mask, (B, H, N, M) broadcastable
// (axes of size 1 where nothing varies). Exposed for tests and for the fused kernels' dispatch.
template <typename T>
MaskTensor attention_allowed(int64_t batch, int64_t heads, int64_t queries, int64_t keys,
                             const AttentionOptions<T>& options);

// ALiBi slopes for `heads` heads: the geometric sequence 2^(-8/n), 2^(-16/n), ... for n the
// largest power of two <= heads, interleaved with the midpoints for the rest (Press et al.).
template <typename T>
Tensor<T> alibi_slopes(int64_t heads);

}  // namespace attend
