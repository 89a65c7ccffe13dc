#include "attend/nn/multi_head_attention.h"

#include <cmath>

#include "attend/attention/positional.h"
#include "attend/autograd/autograd.h"
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
  query_ = this->register_module("query", std::make_shared<Linear<T>>(c.embed_dim, c.num_heads * c.head_dim, c.bias, generator));
  key_ = this->register_module("key", std::make_shared<Linear<T>>(c.key_dim, c.num_kv_heads * c.head_dim, c.bias, generator));
  value_ = this->register_module("value", std::make_shared<Linear<T>>(c.value_dim, c.num_kv_heads * c.value_head_dim, c.bias, generator));
  output_ = this->register_module("output", std::make_shared<Linear<T>>(c.num_heads * c.value_head_dim, c.embed_dim, c.bias, generator));
  if (c.positional == AttentionPositional::kAlibi) alibi_slopes_ = alibi_slopes<T>(c.num_heads);
  if (c.positional == AttentionPositional::kT5Bias) {
    t5_bias_ = this->register_module("relative_bias", std::make_shared<T5RelativeBias<T>>(
        c.relative_buckets, c.relative_max_distance, c.num_heads, c.relative_bidirectional, generator));
  }
  if (c.positional == AttentionPositional::kShaw) {
    ATTEND_CHECK(c.value_head_dim == c.head_dim || !c.relative_values, ValueError,
                 "MultiHeadAttention: Shaw relative values need value_head_dim == head_dim ({} != {})",
                 c.value_head_dim, c.head_dim);
    shaw_positions_ = this->register_module("relative_positions", std::make_shared<RelativePositionEmbedding<T>>(
        c.relative_max_distance, c.head_dim, c.relative_values, generator));
  }
}

template <typename T>
MultiHeadAttentionOutput<T> MultiHeadAttention<T>::forward(const Tensor<T>& query, const Tensor<T>& key,
                                                          const Tensor<T>& value,
                                                          const MultiHeadAttentionOptions<T>& options) {
  const auto& c = config_;
  ATTEND_CHECK(query.rank() == 3 && query.size(2) == c.embed_dim, ShapeError,
               "MultiHeadAttention: query {} must be (B, N, E) with E = {}", shape_string(query.shape()), c.embed_dim);
  ATTEND_CHECK(key.rank() == 3 && key.size(2) == c.key_dim && key.size(0) == query.size(0), ShapeError,
               "MultiHeadAttention: key {} must be (B, M, {}) with B = {} as in query {}", shape_string(key.shape()),
               c.key_dim, query.size(0), shape_string(query.shape()));
  ATTEND_CHECK(value.rank() == 3 && value.size(2) == c.value_dim && value.size(0) == key.size(0) &&
                   value.size(1) == key.size(1),
               ShapeError, "MultiHeadAttention: value {} must be (B, M, {}) matching key {}",
               shape_string(value.shape()), c.value_dim, shape_string(key.shape()));
  const int64_t batch = query.size(0), queries = query.size(1);
  KeyValueCache<T>* cache = options.cache;
  if (cache && cache->length() > 0) {
    ATTEND_CHECK(cache->keys.size(0) == batch, ShapeError,
                 "MultiHeadAttention: cache holds batch {} but the input has batch {}", cache->keys.size(0), batch);
  }
  const int64_t cached = cache ? cache->length() : 0;

  Tensor<T> q = split_heads(query_->forward(query), c.num_heads, c.head_dim);           // (B, H, N, D)
  Tensor<T> k = split_heads(key_->forward(key), c.num_kv_heads, c.head_dim);            // (B, H_kv, M_new, D)
  Tensor<T> v = split_heads(value_->forward(value), c.num_kv_heads, c.value_head_dim);  // (B, H_kv, M_new, D_v)
  if (c.positional == AttentionPositional::kRotary) {
    // Keys sit at positions cached.., queries are the last N positions of all keys.
    const int64_t total = cached + key.size(1);
    k = apply_rotary_embedding(k, cached, c.rotary_base);
    q = apply_rotary_embedding(q, total - queries, c.rotary_base);
  }
  if (cache) {
    if (cached > 0) {
      k = concat(std::vector<Tensor<T>>{cache->keys, k}, 2);
      v = concat(std::vector<Tensor<T>>{cache->values, v}, 2);
    }
    cache->keys = k.detach();
    cache->values = v.detach();
  }

  const int64_t keys = k.size(2);
  const int64_t offset = keys - queries;  // queries are the last N positions
  AttentionOptions<T> attention;
  attention.mask = options.attention_mask;
  attention.additive_mask = options.additive_mask;
  const double scale = 1.0 / std::sqrt(static_cast<double>(c.head_dim));
  Tensor<T> position_bias;  // (1 or B, H, N, M), added to the scaled scores
  if (t5_bias_) position_bias = t5_bias_->forward(queries, keys, offset);
  // Shaw et al.: S = (Q K^T + q_i . a_ij) * scale, so the bias is scaled here.
  if (shaw_positions_) position_bias = mul_scalar(shaw_positions_->score_bias(q, keys, offset), static_cast<T>(scale));
  if (position_bias.defined()) {
    attention.additive_mask = attention.additive_mask.defined() ? add(attention.additive_mask, position_bias) : position_bias;
  }
  const bool shaw_values = shaw_positions_ && c.relative_values;
  attention.key_padding_mask = options.key_padding_mask;
  attention.causal = options.causal;
  attention.alignment = CausalAlignment::kBottomRight;
  attention.alibi_slopes = alibi_slopes_;
  attention.need_weights = options.need_weights || shaw_values;
  if (this->is_training() && c.dropout > 0) {
    attention.dropout_p = c.dropout;
    attention.dropout_seed = dropout_seeds_.next_u64();
  }
  const AttentionResult<T> result = scaled_dot_product_attention(q, k, v, attention);
  if (AttentionCapture* capture = AttentionCapture::active()) {
    capture->add(this, name_, kind_, layer_, weights_for_capture(q, k, v, attention, result.weights));
  }
  Tensor<T> heads = result.output;  // (B, H, N, D_v)
  if (shaw_values) heads = add(heads, shaw_positions_->value_term(result.weights, offset));
  // (B, H, N, D_v) -> (B, N, H * D_v)
  const Tensor<T> merged = heads.transpose(1, 2).reshape({batch, queries, c.num_heads * c.value_head_dim});
  MultiHeadAttentionOutput<T> out;
  out.output = output_->forward(merged);
  if (options.need_weights) out.weights = options.average_weights ? mean(result.weights, {1}) : result.weights;
  return out;
}

template class MultiHeadAttention<float>;
template class MultiHeadAttention<double>;

}  // namespace attend::nn
