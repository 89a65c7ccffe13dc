// Fused, memory-linear ("flash") attention for float32 on the CPU: forward, backward and the
// weights recomputed from the log-sum-exp. Internal; scaled_dot_product_attention dispatches
// here. FlashAttention: Dao et al. 2022; FlashAttention-2: Dao 2023.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace attend::kernels {

// Everything the kernels read, as raw pointers and element strides. Inputs are (B, H, N, D)
// etc. with a contiguous last axis.
struct FlashAttentionProblem {
  int64_t batch = 0, heads = 0, kv_heads = 0, queries = 0, keys = 0, head_dim = 0, value_dim = 0;
  const float* q = nullptr;  // (B, H, N, D) contiguous
  const float* k = nullptr;  // (B, H_kv, M, D) contiguous
  const float* v = nullptr;  // (B, H_kv, M, D_v) contiguous
  float scale = 1;
  float softcap = 0;                      // > 0: S = softcap * tanh(S / softcap)
  const uint8_t* mask = nullptr;          // may attend, (B, H, N, M) view with strides below
  std::array<int64_t, 4> mask_strides{};  // 0 on broadcast axes
  const float* additive = nullptr;        // added to the scores, (B, H, N, M) view
  std::array<int64_t, 4> additive_strides{};
  const uint8_t* key_padding = nullptr;  // (B, M) contiguous; nonzero = padding
  const float* alibi_slopes = nullptr;   // (H): -slope_h * |i + offset - j|
  bool causal = false;
  int64_t offset = 0;        // query i sits at key position i + offset
  int64_t window_left = -1;  // -1: unbounded
  int64_t window_right = -1;
  double dropout_p = 0;
  uint64_t dropout_seed = 0;
  // Element strides (batch, head, row) of q, k, v and out: q and out at (b, h, i), k and v at
  // (b, kv_head, j). All zero (the default): contiguous (B, H, N, D) etc. Packed sequences read
  // q, k and v in place from (T, H, D) rows (attention/packed_attention.h). The forward and the
  // backward take them; the decode kernel and the weights do not.
  std::array<int64_t, 3> q_strides{}, k_strides{}, v_strides{}, out_strides{};

  bool has_strides() const {
    for (const auto* s : {&q_strides, &k_strides, &v_strides, &out_strides}) {
      if ((*s)[0] != 0 || (*s)[1] != 0 || (*s)[2] != 0) return true;
    }
    return false;
  }
  // The strides in use: the ones given, or those of contiguous arrays.
  std::array<int64_t, 3> q_layout() const { return layout(q_strides, heads, queries, head_dim); }
  std::array<int64_t, 3> k_layout() const { return layout(k_strides, kv_heads, keys, head_dim); }
  std::array<int64_t, 3> v_layout() const { return layout(v_strides, kv_heads, keys, value_dim); }
  std::array<int64_t, 3> out_layout() const { return layout(out_strides, heads, queries, value_dim); }

  static std::array<int64_t, 3> layout(const std::array<int64_t, 3>& given, int64_t heads, int64_t rows,
                                       int64_t width) {
    if (given[0] != 0 || given[1] != 0 || given[2] != 0) return given;
    return {heads * rows * width, rows * width, width};
  }

  // True when q and out are laid out contiguous (given strides equal to the default ones): the
  // decode kernel then reads K and V through their strides.
  bool q_and_out_contiguous() const {
    return q_layout() == layout({}, heads, queries, head_dim) && out_layout() == layout({}, heads, queries, value_dim);
  }

  // True when some per-element work is needed beyond causal/window index arithmetic.
  bool has_elementwise_features() const {
    return softcap > 0 || mask || additive || key_padding || alibi_slopes || dropout_p > 0;
  }
};

// out (B, H, N, D_v) at out_strides (contiguous by default), log_sum_exp (B, H, N) contiguous;
// both written in full.
void flash_attention_forward(const FlashAttentionProblem& problem, float* out, float* log_sum_exp);

// Variable-length batches ("varlen", FlashAttention's cu_seqlens): independent problems, each
// with its own lengths, pointers and options (a pack's sequences, a server step's sequences over
// their own caches), in one parallel loop over (problem, batch, head, query tile) cut by cost.
// Each problem's outputs are the bits flash_attention_forward gives it alone, at any thread
// count and whatever else shares the call.
struct FlashForwardCall {
  FlashAttentionProblem problem;
  float* out = nullptr;          // as flash_attention_forward's
  float* log_sum_exp = nullptr;  // (B, H, N) contiguous
};
void flash_attention_forward(std::span<const FlashForwardCall> calls);

// Split-K forward for decoding (a few query rows, many keys); same outputs as the forward. K and
// V may be strided (a cache's view), q and out must be contiguous.
bool use_decode_kernel(const FlashAttentionProblem& problem);
void flash_attention_decode(const FlashAttentionProblem& problem, float* out, float* log_sum_exp);

// weights (B, H, N, M): the dropped-out probabilities softmax(S), recomputed row by row (rows
// whose lse is -inf saw no key and get zeros).
void attention_weights_from_log_sum_exp(const FlashAttentionProblem& problem, const float* log_sum_exp, float* weights);

// Gradients from d_out (B, H, N, D_v) and the forward's out and log_sum_exp: dq (B, H, N, D),
// dk (B, H_kv, M, D), dv (B, H_kv, M, D_v), written in full. d_out is at out's strides, dq, dk
// and dv at those of q, k and v (contiguous unless the problem gives strides). When
// d_additive is given it receives dL/dS per element, (B, H, N, M) contiguous (the caller sums
// it over broadcast axes).
// Whether the backward runs in two passes (key tiles, then query tiles) on the current thread
// count rather than one pass per (batch, key/value head); the results are the same bits.
bool backward_splits_over_tiles(const FlashAttentionProblem& problem);
void flash_attention_backward(const FlashAttentionProblem& problem, const float* out, const float* log_sum_exp,
                              const float* d_out, float* dq, float* dk, float* dv, float* d_additive);

// The backward of several independent problems (the varlen forward's) in one schedule: one pass
// over every problem's (batch, key/value head) units, or two over their key tiles and query
// tiles, whichever finishes sooner on the current threads. Each problem's gradients are the bits
// flash_attention_backward gives it alone.
struct FlashBackwardCall {
  FlashAttentionProblem problem;
  const float* out = nullptr;
  const float* log_sum_exp = nullptr;
  const float* d_out = nullptr;
  float* dq = nullptr;
  float* dk = nullptr;
  float* dv = nullptr;
  float* d_additive = nullptr;  // or null
};
bool backward_splits_over_tiles(std::span<const FlashBackwardCall> calls);
void flash_attention_backward(std::span<const FlashBackwardCall> calls);

}  // namespace attend::kernels
