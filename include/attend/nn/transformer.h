// Transformer encoder and decoder layers (Vaswani et al. 2017), post-norm as in the paper or
// pre-norm (Xiong et al. 2020, "On layer normalization in the Transformer architecture"):
//
//   post-norm:  x = LN(x + Dropout(SelfAttention(x)));  x = LN(x + Dropout(FF(x)))
//   pre-norm:   x = x + Dropout(SelfAttention(LN(x)));  x = x + Dropout(FF(LN(x)))
//   FF(x) = W_2 Dropout(act(W_1 x + b_1)) + b_2,  act = ReLU or GELU
//
// A decoder layer adds cross-attention to the encoder's output ("memory") between the causal
// self-attention and the feed-forward block.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "attend/nn/multi_head_attention.h"
#include "attend/core/random.h"
#include "attend/nn/layer_norm.h"
#include "attend/nn/linear.h"
#include "attend/nn/module.h"

namespace attend::nn {

enum class Activation { kRelu, kGelu };

struct TransformerLayerConfig {
  int64_t model_dim = 0;  // E
  int64_t num_heads = 1;
  int64_t num_kv_heads = 0;     // 0: num_heads
  int64_t feedforward_dim = 0;  // 0: 4 E
  double dropout = 0.1;         // on attention weights, sublayer outputs and inside FF
  Activation activation = Activation::kRelu;
  bool norm_first = false;                                      // pre-norm
  AttentionPositional positional = AttentionPositional::kNone;  // inside self-attention
  double layer_norm_eps = 1e-5;
};

// Per-sequence masks, shared by every layer.
template <typename T>
struct TransformerMasks {
  MaskTensor source_padding;  // (B, S): nonzero = padding in the encoder input / memory
  MaskTensor target_padding;  // (B, T): nonzero = padding in the decoder input
};

// Incremental decoding state of one decoder layer.
template <typename T>
struct DecoderLayerCache {
  KeyValueCache<T> self_attention;
};

// Two linear layers with an activation between.
template <typename T>
class FeedForward : public Module<T> {
 public:
  FeedForward(int64_t model_dim, int64_t hidden_dim, Activation activation, double dropout, Generator& generator);
  Tensor<T> forward(const Tensor<T>& x);  // (..., E) -> (..., E)

 private:
  std::shared_ptr<Linear<T>> input_, output_;
  Activation activation_;
  double dropout_;
  Generator dropout_seeds_;
};

template <typename T>
class TransformerEncoderLayer : public Module<T> {
 public:
  TransformerEncoderLayer(const TransformerLayerConfig& config, Generator& generator);
  // x (B, S, E) -> (B, S, E).
  Tensor<T> forward(const Tensor<T>& x, const MaskTensor& padding = MaskTensor());
  const std::shared_ptr<MultiHeadAttention<T>>& self_attention() const { return self_attention_; }
  // Names the self-attention "<prefix>.self" (kind encoder_self) for AttentionCapture.
  void set_attention_label(const std::string& prefix, int64_t layer);

 private:
  TransformerLayerConfig config_;
  std::shared_ptr<MultiHeadAttention<T>> self_attention_;
  std::shared_ptr<FeedForward<T>> feedforward_;
  std::shared_ptr<LayerNorm<T>> norm_attention_, norm_feedforward_;
  Generator dropout_seeds_;
};

template <typename T>
class TransformerDecoderLayer : public Module<T> {
 public:
  TransformerDecoderLayer(const TransformerLayerConfig& config, Generator& generator);
  // x (B, T, E) attends causally to itself and to memory (B, S, E) -> (B, T, E). With a cache,
  // x holds only the new positions and the cached ones are attended too.
  Tensor<T> forward(const Tensor<T>& x, const Tensor<T>& memory, const TransformerMasks<T>& masks,
                    DecoderLayerCache<T>* cache = nullptr);
  const std::shared_ptr<MultiHeadAttention<T>>& self_attention() const { return self_attention_; }
  const std::shared_ptr<MultiHeadAttention<T>>& cross_attention() const { return cross_attention_; }
  // Names the attentions "<prefix>.self" (decoder_self) and "<prefix>.cross" for AttentionCapture.
  void set_attention_label(const std::string& prefix, int64_t layer);

 private:
  TransformerLayerConfig config_;
  std::shared_ptr<MultiHeadAttention<T>> self_attention_, cross_attention_;
  std::shared_ptr<FeedForward<T>> feedforward_;
  std::shared_ptr<LayerNorm<T>> norm_self_, norm_cross_, norm_feedforward_;
  Generator dropout_seeds_;
};

extern template class TransformerEncoderLayer<float>;
extern template class TransformerEncoderLayer<double>;
extern template class TransformerDecoderLayer<float>;
extern template class TransformerDecoderLayer<double>;

}  // namespace attend::nn
