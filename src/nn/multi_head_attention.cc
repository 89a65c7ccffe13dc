#include "attend/nn/multi_head_attention.h"

#include <algorithm>

#include <cmath>

#include "attend/attention/positional.h"
#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/reduction.h"
#include "attend/ops/shape_ops.h"

namespace attend::nn {
namespace {

MultiHeadAttentionConfig resolve(MultiHeadAttentionConfig c) {
  ATTEND_CHECK(c.embed_dim > 0 && c.num_heads > 0, ValueError,
               "MultiHeadAttention: embed_dim ({}) and num_heads ({}) must be positive", c.embed_dim, c.num_heads);
  if (c.num_kv_heads == 0) c.num_kv_heads = c.num_heads;
  if (c.key_dim == 0) c.key_dim = c.embed_dim;
  if (c.value_dim == 0) c.value_dim = c.key_dim;
  if (c.head_dim == 0) {
    ATTEND_CHECK(c.embed_dim % c.num_heads == 0, ValueError,
                 "MultiHeadAttention: embed_dim {} is not divisible by num_heads {}; set head_dim", c.embed_dim,
                 c.num_heads);
    c.head_dim = c.embed_dim / c.num_heads;
  }
  if (c.value_head_dim == 0) c.value_head_dim = c.head_dim;
  ATTEND_CHECK(c.num_kv_heads > 0 && c.num_heads % c.num_kv_heads == 0, ValueError,
               "MultiHeadAttention: num_heads {} must be a multiple of num_kv_heads {}", c.num_heads, c.num_kv_heads);
  ATTEND_CHECK(c.dropout >= 0 && c.dropout < 1, ValueError, "MultiHeadAttention: dropout must be in [0, 1), got {}",
               c.dropout);
  ATTEND_CHECK(c.positional != AttentionPositional::kRotary || c.head_dim % 2 == 0, ValueError,
               "MultiHeadAttention: rotary embeddings need an even head_dim, got {}", c.head_dim);
  return c;
}

// (B, L, heads * dim) -> (B, heads, L, dim)
template <typename T>
Tensor<T> split_heads(const Tensor<T>& x, int64_t heads, int64_t dim) {
  return x.reshape({x.size(0), x.size(1), heads, dim}).transpose(1, 2);
}

// The softmax probabilities P (B, H, N, M) before dropout, for an AttentionCapture. `computed`
// holds the call's own weights when it asked for them. Without dropout those are P; otherwise
// (or when absent) a reference call with the same scores recomputes P under no_grad, leaving the
// call's outputs, tape and dropout stream untouched.
template <typename T>
Tensor<T> weights_for_capture(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v,
                              const AttentionOptions<T>& attention, const Tensor<T>& computed) {
  NoGradGuard no_grad;
  if (computed.defined() && attention.dropout_p == 0) return computed.detach();
  AttentionOptions<T> plain = attention;  // q (B, H, N, D), k (B, H_kv, M, D), v (B, H_kv, M, D_v)
  plain.dropout_p = 0;
  plain.need_weights = true;
  plain.need_log_sum_exp = false;
  plain.implementation = AttentionImplementation::kReference;
  return scaled_dot_product_attention(q.detach(), k.detach(), v.detach(), plain).weights;
}

}  // namespace

template <typename T>
MultiHeadAttention<T>::MultiHeadAttention(const MultiHeadAttentionConfig& config, Generator& generator)
    : config_(resolve(config)), dropout_seeds_(generator.next_u64()) {
  this->register_generator("dropout_seeds", dropout_seeds_);
  const auto& c = config_;
  query_ = this->register_module("query",
                                 std::make_shared<Linear<T>>(c.embed_dim, c.num_heads * c.head_dim, c.bias, generator));
  key_ = this->register_module("key",
                               std::make_shared<Linear<T>>(c.key_dim, c.num_kv_heads * c.head_dim, c.bias, generator));
  value_ = this->register_module(
      "value", std::make_shared<Linear<T>>(c.value_dim, c.num_kv_heads * c.value_head_dim, c.bias, generator));
  output_ = this->register_module(
      "output", std::make_shared<Linear<T>>(c.num_heads * c.value_head_dim, c.embed_dim, c.bias, generator));
  if (c.positional == AttentionPositional::kAlibi) alibi_slopes_ = alibi_slopes<T>(c.num_heads);
  if (c.positional == AttentionPositional::kT5Bias) {
    t5_bias_ = this->register_module(
        "relative_bias", std::make_shared<T5RelativeBias<T>>(c.relative_buckets, c.relative_max_distance, c.num_heads,
                                                             c.relative_bidirectional, generator));
  }
  if (c.positional == AttentionPositional::kShaw) {
    ATTEND_CHECK(c.value_head_dim == c.head_dim || !c.relative_values, ValueError,
                 "MultiHeadAttention: Shaw relative values need value_head_dim == head_dim ({} != {})",
                 c.value_head_dim, c.head_dim);
    shaw_positions_ = this->register_module(
        "relative_positions", std::make_shared<RelativePositionEmbedding<T>>(c.relative_max_distance, c.head_dim,
                                                                             c.relative_values, generator));
  }
}

// forward, step by step:
//   check_inputs       shapes of query, key, value and of the cache
//   project            Q, K, V = the three projections, split into heads
//   rotate             RoPE on Q and K, at their absolute positions (kRotary)
//   join_cache         K, V = cached keys and values, then the new ones; the cache keeps them
//   attention_options  masks, position bias (kT5Bias, kShaw), ALiBi slopes, dropout
//   scaled_dot_product_attention, and the AttentionCapture's copy of its weights
//   add_relative_values  + sum_j P_ij a^V_rel(i,j) (kShaw with relative values)
//   merge_heads, then the output projection
template <typename T>
MultiHeadAttentionOutput<T> MultiHeadAttention<T>::forward(const Tensor<T>& query, const Tensor<T>& key,
                                                           const Tensor<T>& value,
                                                           const MultiHeadAttentionOptions<T>& options) {
  check_inputs(query, key, value, options.cache);
  const int64_t cached = options.cache ? options.cache->length() : 0;
  Heads heads = project(query, key, value);  // the new keys and values only
  if (config_.positional == AttentionPositional::kRotary) rotate(heads, cached);
  if (options.cache) join_cache(heads, *options.cache);  // now the keys and values of every position
  const AttentionOptions<T> attention = attention_options(heads, options);
  const AttentionResult<T> result = scaled_dot_product_attention(heads.q, heads.k, heads.v, attention);
  if (AttentionCapture* capture = AttentionCapture::active()) {
    capture->add(this, name_, kind_, layer_, weights_for_capture(heads.q, heads.k, heads.v, attention, result.weights));
  }
  MultiHeadAttentionOutput<T> out;
  out.output = output_->forward(merge_heads(add_relative_values(result, query_offset(heads))));  // (B, N, E)
  if (options.need_weights) out.weights = options.average_weights ? mean(result.weights, {1}) : result.weights;
  return out;
}

template <typename T>
void MultiHeadAttention<T>::check_inputs(const Tensor<T>& query, const Tensor<T>& key, const Tensor<T>& value,
                                         const KeyValueCache<T>* cache) const {
  const auto& c = config_;
  ATTEND_CHECK(query.rank() == 3 && query.size(2) == c.embed_dim, ShapeError,
               "MultiHeadAttention: query {} must be (B, N, E) with E = {}", shape_string(query.shape()), c.embed_dim);
  ATTEND_CHECK(key.rank() == 3 && key.size(2) == c.key_dim && key.size(0) == query.size(0), ShapeError,
               "MultiHeadAttention: key {} must be (B, M, {}) with B = {} as in query {}", shape_string(key.shape()),
               c.key_dim, query.size(0), shape_string(query.shape()));
  ATTEND_CHECK(
      value.rank() == 3 && value.size(2) == c.value_dim && value.size(0) == key.size(0) && value.size(1) == key.size(1),
      ShapeError, "MultiHeadAttention: value {} must be (B, M, {}) matching key {}", shape_string(value.shape()),
      c.value_dim, shape_string(key.shape()));
  if (cache && cache->length() > 0) {
    ATTEND_CHECK(cache->keys.size(0) == query.size(0), ShapeError,
                 "MultiHeadAttention: cache holds batch {} but the input has batch {}", cache->keys.size(0),
                 query.size(0));
  }
}

template <typename T>
typename MultiHeadAttention<T>::Heads MultiHeadAttention<T>::project(const Tensor<T>& query, const Tensor<T>& key,
                                                                     const Tensor<T>& value) const {
  const auto& c = config_;
  return {split_heads(query_->forward(query), c.num_heads, c.head_dim),            // (B, H, N, D)
          split_heads(key_->forward(key), c.num_kv_heads, c.head_dim),             // (B, H_kv, M_new, D)
          split_heads(value_->forward(value), c.num_kv_heads, c.value_head_dim)};  // (B, H_kv, M_new, D_v)
}

template <typename T>
void MultiHeadAttention<T>::rotate(Heads& heads, int64_t cached) const {
  // The new keys sit at positions cached.., the queries are the last N positions of all keys.
  const int64_t total = cached + heads.k.size(2);
  heads.k = apply_rotary_embedding(heads.k, cached, config_.rotary_base);
  heads.q = apply_rotary_embedding(heads.q, total - heads.q.size(2), config_.rotary_base);
}

// (B, H_kv, capacity, width) holding `held` (B, H_kv, M, width) in its first M positions.
template <typename T>
Tensor<T> grown_storage(const Tensor<T>& held, const Shape& shape_of_new, int64_t capacity) {
  Tensor<T> storage = Tensor<T>::empty({shape_of_new[0], shape_of_new[1], capacity, shape_of_new[3]});
  if (held.defined()) storage.slice(2, 0, held.size(2)).copy_from(held);
  return storage;
}

template <typename T>
void KeyValueCache<T>::append(const Tensor<T>& k, const Tensor<T>& v) {
  const int64_t held = length(), total = held + k.size(2);
  // keys and values set from outside (a beam search keeping its surviving rows by index_select)
  // are the positions held now: the buffers start again from them.
  const bool replaced = keys.defined() && (keys.data() != key_storage.data() || values.data() != value_storage.data() ||
                                           keys.size(0) != key_storage.size(0));
  if (replaced || total > capacity()) {  // double (at least 16 positions), copying what is held once
    const int64_t grown = std::max<int64_t>({total, (replaced ? 1 : 2) * capacity(), 16});
    key_storage = grown_storage(keys, k.shape(), grown);
    value_storage = grown_storage(values, v.shape(), grown);
  }
  key_storage.slice(2, held, total).copy_from(k.detach());
  value_storage.slice(2, held, total).copy_from(v.detach());
  keys = key_storage.slice(2, 0, total);      // (B, H_kv, M_cached + M_new, D)
  values = value_storage.slice(2, 0, total);  // (B, H_kv, M_cached + M_new, D_v)
}

template <typename T>
void MultiHeadAttention<T>::join_cache(Heads& heads, KeyValueCache<T>& cache) {
  const Tensor<T> held_keys = cache.keys, held_values = cache.values;  // the positions before, unchanged
  cache.append(heads.k, heads.v);
  if (grad_enabled() && (heads.k.requires_grad() || heads.v.requires_grad())) {
    // Recording a gradient: the new keys and values join by a differentiable concat (a copy).
    if (held_keys.defined()) {
      heads.k = concat(std::vector<Tensor<T>>{held_keys, heads.k}, 2);    // (B, H_kv, M_cached + M_new, D)
      heads.v = concat(std::vector<Tensor<T>>{held_values, heads.v}, 2);  // (B, H_kv, M_cached + M_new, D_v)
    }
    return;
  }
  heads.k = cache.keys;  // a view: nothing cached is copied
  heads.v = cache.values;
}

template <typename T>
AttentionOptions<T> MultiHeadAttention<T>::attention_options(const Heads& heads,
                                                             const MultiHeadAttentionOptions<T>& options) {
  AttentionOptions<T> attention;
  attention.mask = options.attention_mask;
  attention.additive_mask = options.additive_mask;
  const Tensor<T> bias = position_bias(heads);  // (1 or B, H, N, M), added to the scaled scores
  if (bias.defined()) {
    attention.additive_mask = attention.additive_mask.defined() ? add(attention.additive_mask, bias) : bias;
  }
  attention.key_padding_mask = options.key_padding_mask;
  attention.causal = options.causal;
  attention.alignment = CausalAlignment::kBottomRight;
  attention.alibi_slopes = alibi_slopes_;
  attention.need_weights = options.need_weights || has_relative_values();  // P for the value term
  if (this->is_training() && config_.dropout > 0) {
    attention.dropout_p = config_.dropout;
    attention.dropout_seed = dropout_seeds_.next_u64();
  }
  return attention;
}

template <typename T>
Tensor<T> MultiHeadAttention<T>::position_bias(const Heads& heads) const {
  const int64_t queries = heads.q.size(2), keys = heads.k.size(2);
  if (t5_bias_) return t5_bias_->forward(queries, keys, query_offset(heads));
  if (!shaw_positions_) return Tensor<T>();
  // Shaw et al.: S = (Q K^T + q_i . a_ij) * scale, so the bias is scaled here.
  const double scale = 1.0 / std::sqrt(static_cast<double>(config_.head_dim));
  return mul_scalar(shaw_positions_->score_bias(heads.q, keys, query_offset(heads)), static_cast<T>(scale));
}

template <typename T>
Tensor<T> MultiHeadAttention<T>::add_relative_values(const AttentionResult<T>& result, int64_t offset) const {
  if (!has_relative_values()) return result.output;                                // (B, H, N, D_v)
  return add(result.output, shaw_positions_->value_term(result.weights, offset));  // (B, H, N, D_v)
}

template <typename T>
Tensor<T> MultiHeadAttention<T>::merge_heads(const Tensor<T>& heads) const {
  // (B, H, N, D_v) -> (B, N, H, D_v) -> (B, N, H * D_v)
  return heads.transpose(1, 2).reshape({heads.size(0), heads.size(2), config_.num_heads * config_.value_head_dim});
}

template struct KeyValueCache<float>;
template struct KeyValueCache<double>;
template class MultiHeadAttention<float>;
template class MultiHeadAttention<double>;

}  // namespace attend::nn
