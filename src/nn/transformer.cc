#include "attend/nn/transformer.h"

#include "attend/core/error.h"
#include "attend/ops/dropout.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/normalization.h"

namespace attend::nn {
namespace {

TransformerLayerConfig resolve(TransformerLayerConfig c) {
  ATTEND_CHECK(c.model_dim > 0 && c.num_heads > 0, ValueError,
               "Transformer layer: model_dim ({}) and num_heads ({}) must be positive", c.model_dim, c.num_heads);
  ATTEND_CHECK(c.dropout >= 0 && c.dropout < 1, ValueError, "Transformer layer: dropout must be in [0, 1), got {}",
               c.dropout);
  if (c.feedforward_dim == 0) c.feedforward_dim = 4 * c.model_dim;
  return c;
}

MultiHeadAttentionConfig attention_config(const TransformerLayerConfig& c, bool self) {
  MultiHeadAttentionConfig a;
  a.embed_dim = c.model_dim;
  a.num_heads = c.num_heads;
  a.num_kv_heads = c.num_kv_heads;
  a.dropout = c.dropout;
  a.positional = self ? c.positional : AttentionPositional::kNone;
  return a;
}

// Dropout with a fresh seed per call in training mode; identity in evaluation.
template <typename T>
Tensor<T> train_dropout(const Tensor<T>& x, double p, bool training, Generator& seeds) {
  if (!training || p == 0) return x;
  return dropout(x, p, seeds.next_u64());
}

}  // namespace

template <typename T>
FeedForward<T>::FeedForward(int64_t model_dim, int64_t hidden_dim, Activation activation, double dropout,
                            Generator& generator)
    : activation_(activation), dropout_(dropout), dropout_seeds_(generator.next_u64()) {
  this->register_generator("dropout_seeds", dropout_seeds_);
  input_ = this->register_module("input", std::make_shared<Linear<T>>(model_dim, hidden_dim, true, generator));
  output_ = this->register_module("output", std::make_shared<Linear<T>>(hidden_dim, model_dim, true, generator));
}

template <typename T>
Tensor<T> FeedForward<T>::forward(const Tensor<T>& x) {
  Tensor<T> hidden = input_->forward(x);  // (..., F)
  hidden = activation_ == Activation::kRelu ? relu(hidden) : gelu(hidden);
  hidden = train_dropout(hidden, dropout_, this->is_training(), dropout_seeds_);
  return output_->forward(hidden);  // (..., E)
}

template <typename T>
TransformerEncoderLayer<T>::TransformerEncoderLayer(const TransformerLayerConfig& config, Generator& generator)
    : config_(resolve(config)), dropout_seeds_(generator.next_u64()) {
  this->register_generator("dropout_seeds", dropout_seeds_);
  const auto& c = config_;
  self_attention_ = this->register_module(
      "self_attention", std::make_shared<MultiHeadAttention<T>>(attention_config(c, true), generator));
  feedforward_ = this->register_module(
      "feedforward",
      std::make_shared<FeedForward<T>>(c.model_dim, c.feedforward_dim, c.activation, c.dropout, generator));
  norm_attention_ =
      this->register_module("norm_attention", std::make_shared<LayerNorm<T>>(Shape{c.model_dim}, c.layer_norm_eps));
  norm_feedforward_ =
      this->register_module("norm_feedforward", std::make_shared<LayerNorm<T>>(Shape{c.model_dim}, c.layer_norm_eps));
  set_attention_label("encoder", -1);
}

template <typename T>
void TransformerEncoderLayer<T>::set_attention_label(const std::string& prefix, int64_t layer) {
  self_attention_->set_label(prefix + ".self", AttentionKind::kEncoderSelf, layer);
}

template <typename T>
Tensor<T> TransformerEncoderLayer<T>::forward(const Tensor<T>& x, const MaskTensor& padding) {
  ATTEND_CHECK(x.rank() == 3 && x.size(2) == config_.model_dim, ShapeError,
               "TransformerEncoderLayer: input {} must be (B, S, {})", shape_string(x.shape()), config_.model_dim);
  MultiHeadAttentionOptions<T> options;
  options.key_padding_mask = padding;
  const bool training = this->is_training();
  const double p = config_.dropout;
  Tensor<T> h = x;
  if (config_.norm_first) {
    h = add(h, train_dropout(self_attention_->self_attention(norm_attention_->forward(h), options).output, p, training,
                             dropout_seeds_));
    h = add(h, train_dropout(feedforward_->forward(norm_feedforward_->forward(h)), p, training, dropout_seeds_));
  } else {
    h = norm_attention_->forward(
        add(h, train_dropout(self_attention_->self_attention(h, options).output, p, training, dropout_seeds_)));
    h = norm_feedforward_->forward(add(h, train_dropout(feedforward_->forward(h), p, training, dropout_seeds_)));
  }
  return h;
}

template <typename T>
TransformerDecoderLayer<T>::TransformerDecoderLayer(const TransformerLayerConfig& config, Generator& generator)
    : config_(resolve(config)), dropout_seeds_(generator.next_u64()) {
  this->register_generator("dropout_seeds", dropout_seeds_);
  const auto& c = config_;
  self_attention_ = this->register_module(
      "self_attention", std::make_shared<MultiHeadAttention<T>>(attention_config(c, true), generator));
  cross_attention_ = this->register_module(
      "cross_attention", std::make_shared<MultiHeadAttention<T>>(attention_config(c, false), generator));
  feedforward_ = this->register_module(
      "feedforward",
      std::make_shared<FeedForward<T>>(c.model_dim, c.feedforward_dim, c.activation, c.dropout, generator));
  norm_self_ = this->register_module("norm_self", std::make_shared<LayerNorm<T>>(Shape{c.model_dim}, c.layer_norm_eps));
  norm_cross_ =
      this->register_module("norm_cross", std::make_shared<LayerNorm<T>>(Shape{c.model_dim}, c.layer_norm_eps));
  norm_feedforward_ =
      this->register_module("norm_feedforward", std::make_shared<LayerNorm<T>>(Shape{c.model_dim}, c.layer_norm_eps));
  set_attention_label("decoder", -1);
}

template <typename T>
void TransformerDecoderLayer<T>::set_attention_label(const std::string& prefix, int64_t layer) {
  self_attention_->set_label(prefix + ".self", AttentionKind::kDecoderSelf, layer);
  cross_attention_->set_label(prefix + ".cross", AttentionKind::kCross, layer);
}

template <typename T>
Tensor<T> TransformerDecoderLayer<T>::forward(const Tensor<T>& x, const Tensor<T>& memory,
                                              const TransformerMasks<T>& masks, DecoderLayerCache<T>* cache) {
  ATTEND_CHECK(x.rank() == 3 && x.size(2) == config_.model_dim, ShapeError,
               "TransformerDecoderLayer: input {} must be (B, T, {})", shape_string(x.shape()), config_.model_dim);
  ATTEND_CHECK(memory.rank() == 3 && memory.size(2) == config_.model_dim && memory.size(0) == x.size(0), ShapeError,
               "TransformerDecoderLayer: memory {} must be (B, S, {}) with the batch of the input {}",
               shape_string(memory.shape()), config_.model_dim, shape_string(x.shape()));
  MultiHeadAttentionOptions<T> self_options;
  self_options.causal = true;
  self_options.key_padding_mask = masks.target_padding;
  self_options.cache = cache ? &cache->self_attention : nullptr;
  MultiHeadAttentionOptions<T> cross_options;
  cross_options.key_padding_mask = masks.source_padding;
  const bool training = this->is_training();
  const double p = config_.dropout;
  auto self_block = [&](const Tensor<T>& h) { return self_attention_->self_attention(h, self_options).output; };
  auto cross_block = [&](const Tensor<T>& h) {
    return cross_attention_->forward(h, memory, memory, cross_options).output;
  };
  Tensor<T> h = x;
  if (config_.norm_first) {
    h = add(h, train_dropout(self_block(norm_self_->forward(h)), p, training, dropout_seeds_));
    h = add(h, train_dropout(cross_block(norm_cross_->forward(h)), p, training, dropout_seeds_));
    h = add(h, train_dropout(feedforward_->forward(norm_feedforward_->forward(h)), p, training, dropout_seeds_));
  } else {
    h = norm_self_->forward(add(h, train_dropout(self_block(h), p, training, dropout_seeds_)));
    h = norm_cross_->forward(add(h, train_dropout(cross_block(h), p, training, dropout_seeds_)));
    h = norm_feedforward_->forward(add(h, train_dropout(feedforward_->forward(h), p, training, dropout_seeds_)));
  }
  return h;
}

template class FeedForward<float>;
template class FeedForward<double>;
template class TransformerEncoderLayer<float>;
template class TransformerEncoderLayer<double>;
template class TransformerDecoderLayer<float>;
template class TransformerDecoderLayer<double>;

}  // namespace attend::nn
