#include "attend/models/g2p.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "attend/attention/positional.h"
#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/data/cmudict.h"
#include "attend/models/g2p_search.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/indexing.h"
#include "attend/ops/softmax.h"

namespace attend::models {

template <typename T>
G2PTransformer<T>::G2PTransformer(const G2PConfig& config, int64_t letters, int64_t phonemes, Generator& generator)
    : config_(config) {
  const int64_t e = config.model_dim;
  ATTEND_CHECK(e > 0 && config.encoder_layers > 0 && config.decoder_layers > 0, ValueError,
               "G2PTransformer: model_dim and layer counts must be positive");
  const T std = static_cast<T>(1.0 / std::sqrt(static_cast<double>(e)));
  letter_embedding_ =
      this->register_parameter("letter_embedding", mul_scalar(Tensor<T>::randn({letters, e}, generator), std));
  phoneme_embedding_ =
      this->register_parameter("phoneme_embedding", mul_scalar(Tensor<T>::randn({phonemes, e}, generator), std));
  nn::TransformerLayerConfig layer;
  layer.model_dim = e;
  layer.num_heads = config.num_heads;
  layer.feedforward_dim = config.feedforward_dim;
  layer.dropout = config.dropout;
  layer.norm_first = config.norm_first;
  for (int64_t i = 0; i < config.encoder_layers; ++i) {
    encoder_.push_back(this->register_module(fmt::format("encoder.{}", i),
                                             std::make_shared<nn::TransformerEncoderLayer<T>>(layer, generator)));
    encoder_.back()->set_attention_label(fmt::format("encoder.{}", i), i);
  }
  for (int64_t i = 0; i < config.decoder_layers; ++i) {
    decoder_.push_back(this->register_module(fmt::format("decoder.{}", i),
                                             std::make_shared<nn::TransformerDecoderLayer<T>>(layer, generator)));
    decoder_.back()->set_attention_label(fmt::format("decoder.{}", i), i);
  }
  if (config.norm_first) {
    encoder_norm_ = this->register_module("encoder_norm", std::make_shared<nn::LayerNorm<T>>(Shape{e}, 1e-5));
    decoder_norm_ = this->register_module("decoder_norm", std::make_shared<nn::LayerNorm<T>>(Shape{e}, 1e-5));
  }
  output_ = this->register_module("output", std::make_shared<nn::Linear<T>>(e, phonemes, true, generator));
  positions_ = sinusoidal_positional_encoding<T>(config.max_length, e);
}

template <typename T>
Tensor<T> G2PTransformer<T>::embed(const Tensor<T>& table, const IndexTensor& ids, int64_t offset) const {
  const int64_t length = ids.size(1);
  ATTEND_CHECK(offset + length <= config_.max_length, ValueError,
               "G2PTransformer: sequence of {} symbols at position {} exceeds max_length {}", length, offset,
               config_.max_length);
  const T scale = static_cast<T>(std::sqrt(static_cast<double>(config_.model_dim)));
  return add(mul_scalar(embedding(table, ids), scale), positions_.slice(0, offset, offset + length));  // (B, L, E)
}

template <typename T>
Tensor<T> G2PTransformer<T>::encode(const IndexTensor& source, MaskTensor* padding) {
  ATTEND_CHECK(source.rank() == 2, ShapeError, "G2PTransformer: source must be (B, S), got {}",
               shape_string(source.shape()));
  *padding = MaskTensor::empty(source.shape());
  for (int64_t i = 0; i < source.numel(); ++i) padding->data()[i] = source.data()[i] == Vocabulary::kPad;
  Tensor<T> x = embed(letter_embedding_, source, 0);  // (B, S, E)
  for (auto& layer : encoder_) x = layer->forward(x, *padding);
  return encoder_norm_ ? encoder_norm_->forward(x) : x;
}

template <typename T>
Tensor<T> G2PTransformer<T>::forward(const IndexTensor& source, const IndexTensor& target_in) {
  ATTEND_CHECK(target_in.rank() == 2 && target_in.size(0) == source.size(0), ShapeError,
               "G2PTransformer: target {} must be (B, T) with the batch of source {}", shape_string(target_in.shape()),
               shape_string(source.shape()));
  MaskTensor padding;
  const Tensor<T> memory = encode(source, &padding);  // (B, S, E)
  nn::TransformerMasks<T> masks;
  masks.source_padding = padding;
  Tensor<T> y = embed(phoneme_embedding_, target_in, 0);  // (B, T, E)
  for (auto& layer : decoder_) y = layer->forward(y, memory, masks);
  if (decoder_norm_) y = decoder_norm_->forward(y);
  return output_->forward(y);  // (B, T, V)
}

template <typename T>
Tensor<T> G2PTransformer<T>::decode_step(const Tensor<T>& memory, const MaskTensor& padding, const IndexTensor& tokens,
                                         std::vector<nn::DecoderLayerCache<T>>& caches, int64_t position) {
  nn::TransformerMasks<T> masks;
  masks.source_padding = padding;
  Tensor<T> y = embed(phoneme_embedding_, tokens, position);  // (B, 1, E)
  for (size_t l = 0; l < decoder_.size(); ++l) y = decoder_[l]->forward(y, memory, masks, &caches[l]);
  if (decoder_norm_) y = decoder_norm_->forward(y);
  return log_softmax(output_->forward(y).squeeze(1), -1);  // (B, V)
}

template <typename T>
std::vector<std::vector<int64_t>> G2PTransformer<T>::greedy_decode(const IndexTensor& source, int64_t max_steps) {
  DecodingGuard<T> decoding(*this);
  MaskTensor padding;
  const Tensor<T> memory = encode(source, &padding);  // (B, S, E)
  std::vector<nn::DecoderLayerCache<T>> caches(decoder_.size());
  return greedy_search<T>(source.size(0), std::min(max_steps, config_.max_length),
                          [&](const IndexTensor& tokens, int64_t step) {
                            return decode_step(memory, padding, tokens, caches, step);  // (B, V)
                          });
}

template <typename T>
std::vector<int64_t> G2PTransformer<T>::beam_search(const IndexTensor& source, int64_t beam_size, int64_t max_steps) {
  check_single_word(source);
  DecodingGuard<T> decoding(*this);
  MaskTensor padding;
  const Tensor<T> memory_one = encode(source, &padding);  // (1, S, E)
  std::vector<nn::DecoderLayerCache<T>> caches(decoder_.size());
  const auto next_log_probs = [&](const IndexTensor& tokens, int64_t step) {
    const int64_t live = tokens.size(0);
    const Tensor<T> memory = memory_one.expand({live, memory_one.size(1), memory_one.size(2)});  // (L, S, E)
    return decode_step(memory, padding.expand({live, padding.size(1)}), tokens, caches, step);   // (L, V)
  };
  // Each layer's self-attention cache follows the surviving beams.
  const auto follow_beams = [&](const IndexTensor& parents) {
    for (auto& cache : caches) {
      cache.self_attention.keys = index_select(cache.self_attention.keys, 0, parents);
      cache.self_attention.values = index_select(cache.self_attention.values, 0, parents);
    }
  };
  return models::beam_search<T>(beam_size, std::min(max_steps, config_.max_length), next_log_probs, follow_beams);
}

template class G2PTransformer<float>;
template class G2PTransformer<double>;

}  // namespace attend::models
