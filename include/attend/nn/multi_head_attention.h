// Multi-head attention (Vaswani et al. 2017), with grouped-query heads (Ainslie et al. 2023),
// cross-attention with its own key/value widths, and a key/value cache for incremental decoding.
//
//   Q = query W_Q + b_Q      (B, N, H * D)   -> (B, H, N, D)
//   K = key   W_K + b_K      (B, M, H_kv * D) -> (B, H_kv, M, D)
//   V = value W_V + b_V      (B, M, H_kv * D_v) -> (B, H_kv, M, D_v)
//   O = scaled_dot_product_attention(Q, K, V)   (B, H, N, D_v) -> (B, N, H * D_v)
//   output = O W_O + b_O     (B, N, E)
#pragma once

#include <memory>
#include <string>

#include "attend/attention/attention_capture.h"
#include "attend/attention/scaled_dot_product.h"
#include "attend/core/random.h"
#include "attend/nn/linear.h"
#include "attend/nn/module.h"
#include "attend/nn/positional_embedding.h"

namespace attend::nn {

// Position information applied inside the module.
enum class AttentionPositional {
  kNone,
  kRotary,  // RoPE on Q and K (Su et al. 2021), at absolute positions
  kAlibi,   // linear biases with the paper's slopes (Press et al. 2022)
  kT5Bias,  // a learned bias per head and bucket of relative distance (Raffel et al. 2020)
  kShaw,    // learned relative key (and value) vectors, clipped distance (Shaw et al. 2018)
};

struct MultiHeadAttentionConfig {
  int64_t embed_dim = 0;       // E: width of the queries and of the output
  int64_t num_heads = 1;       // H
  int64_t num_kv_heads = 0;    // H_kv, dividing H (0: H; 1: multi-query attention)
  int64_t key_dim = 0;         // width of the key input (0: E)
  int64_t value_dim = 0;       // width of the value input (0: key_dim)
  int64_t head_dim = 0;        // D (0: E / H)
  int64_t value_head_dim = 0;  // D_v (0: D)
  bool bias = true;
  double dropout = 0.0;  // on the attention weights, in training mode
  AttentionPositional positional = AttentionPositional::kNone;
  double rotary_base = 10000.0;
  int64_t relative_buckets = 32;        // kT5Bias: number of buckets
  int64_t relative_max_distance = 128;  // kT5Bias: largest distinguished distance; kShaw: clip K
  bool relative_bidirectional = true;   // kT5Bias: separate buckets for keys after the query
  bool relative_values = true;          // kShaw: relative vectors on the values too
};

// Projected keys and values of the tokens seen so far, per layer. Empty until first use. New
// positions are written in place into buffers that grow by doubling, so a token costs one copy
// of its own keys and values (amortized), not of everything cached; keys and values are views of
// the positions held, which the fused attention kernel reads in place through their strides.
template <typename T>
struct KeyValueCache {
  Tensor<T> keys;                        // (B, H_kv, M_cached, D), rotary already applied: a view of key_storage
  Tensor<T> values;                      // (B, H_kv, M_cached, D_v): a view of value_storage
  Tensor<T> key_storage, value_storage;  // (B, H_kv, capacity, D) and (..., D_v); past M_cached: unused
  int64_t length() const { return keys.defined() ? keys.size(2) : 0; }
  int64_t capacity() const { return key_storage.defined() ? key_storage.size(2) : 0; }
  void clear() { keys = values = key_storage = value_storage = Tensor<T>(); }
  // Appends k (B, H_kv, M_new, D) and v (B, H_kv, M_new, D_v) after the positions held. keys and
  // values may be replaced between calls (a beam search reorders them): they are then what is held.
  void append(const Tensor<T>& k, const Tensor<T>& v);
};

template <typename T>
struct MultiHeadAttentionOptions {
  MaskTensor attention_mask;    // broadcastable to (B, H, N, M); nonzero = may attend
  Tensor<T> additive_mask;      // broadcastable to (B, H, N, M); added to the scores
  MaskTensor key_padding_mask;  // (B, M) over all keys (cached included); nonzero = padding
  bool causal = false;          // queries are the last N of the M positions (bottom-right)
  bool need_weights = false;
  bool average_weights = true;  // weights (B, N, M) averaged over heads, else (B, H, N, M)
  // Incremental decoding: key/value hold only the new tokens; their projections are appended
  // to the cache and the queries attend to everything cached. Outputs equal a full recompute.
  KeyValueCache<T>* cache = nullptr;
};

template <typename T>
struct MultiHeadAttentionOutput {
  Tensor<T> output;   // (B, N, E)
  Tensor<T> weights;  // (B, N, M) or (B, H, N, M) when need_weights
};

template <typename T>
class MultiHeadAttention : public Module<T> {
 public:
  MultiHeadAttention(const MultiHeadAttentionConfig& config, Generator& generator);

  // query (B, N, E), key (B, M, key_dim), value (B, M, value_dim).
  MultiHeadAttentionOutput<T> forward(const Tensor<T>& query, const Tensor<T>& key, const Tensor<T>& value,
                                      const MultiHeadAttentionOptions<T>& options = {});
  // x (B, N, E) attending to itself.
  MultiHeadAttentionOutput<T> self_attention(const Tensor<T>& x, const MultiHeadAttentionOptions<T>& options = {}) {
    return forward(x, x, x, options);
  }

  const MultiHeadAttentionConfig& config() const { return config_; }

  // How an active AttentionCapture labels this module's weights: a name such as
  // "decoder.1.cross", its kind, and its index in its stack (-1: none).
  void set_label(std::string name, AttentionKind kind, int64_t layer = -1) {
    name_ = std::move(name);
    kind_ = kind;
    layer_ = layer;
  }
  const std::string& name() const { return name_; }
  AttentionKind kind() const { return kind_; }
  int64_t layer() const { return layer_; }

 private:
  // One call's projections, split into heads.
  struct Heads {
    Tensor<T> q;  // (B, H, N, D)
    Tensor<T> k;  // (B, H_kv, M, D): the new keys, then (join_cache) every key
    Tensor<T> v;  // (B, H_kv, M, D_v)
  };
  // The queries are the last N of the M key positions: query i sits at key position i + M - N.
  static int64_t query_offset(const Heads& heads) { return heads.k.size(2) - heads.q.size(2); }
  bool has_relative_values() const { return shaw_positions_ && config_.relative_values; }

  // The steps of forward, in order (src/nn/multi_head_attention.cc).
  void check_inputs(const Tensor<T>& query, const Tensor<T>& key, const Tensor<T>& value,
                    const KeyValueCache<T>* cache) const;
  Heads project(const Tensor<T>& query, const Tensor<T>& key, const Tensor<T>& value) const;
  void rotate(Heads& heads, int64_t cached) const;
  static void join_cache(Heads& heads, KeyValueCache<T>& cache);
  AttentionOptions<T> attention_options(const Heads& heads, const MultiHeadAttentionOptions<T>& options);
  Tensor<T> position_bias(const Heads& heads) const;  // (1 or B, H, N, M) or undefined
  // result.output (B, H, N, D_v) plus the Shaw value term when there is one.
  Tensor<T> add_relative_values(const AttentionResult<T>& result, int64_t offset) const;
  Tensor<T> merge_heads(const Tensor<T>& heads) const;  // (B, H, N, D_v) -> (B, N, H * D_v)

  MultiHeadAttentionConfig config_;  // with every 0 resolved
  std::string name_ = "attention";
  AttentionKind kind_ = AttentionKind::kOther;
  int64_t layer_ = -1;
  std::shared_ptr<Linear<T>> query_, key_, value_, output_;
  Tensor<T> alibi_slopes_;                      // (H) when positional == kAlibi; a constant, not a parameter
  std::shared_ptr<T5RelativeBias<T>> t5_bias_;  // when positional == kT5Bias
  std::shared_ptr<RelativePositionEmbedding<T>> shaw_positions_;  // when positional == kShaw
  Generator dropout_seeds_;
};

extern template class MultiHeadAttention<float>;
extern template class MultiHeadAttention<double>;

}  // namespace attend::nn
