#include "attend/models/image_classifier.h"

#include <fmt/format.h>

#include "attend/core/error.h"
#include "attend/ops/convolution.h"
#include "attend/ops/elementwise.h"

namespace attend::models {
namespace {

void check_transformer_config(const char* model, const ImageTransformerConfig& c, int64_t divisor) {
  ATTEND_CHECK(c.image_size >= 1 && c.image_size % divisor == 0, ValueError,
               "{}: image_size {} must be a positive multiple of {}", model, c.image_size, divisor);
  ATTEND_CHECK(c.in_channels >= 1 && c.num_classes >= 2 && c.num_layers >= 0, ValueError,
               "{}: in_channels ({}) must be >= 1, num_classes ({}) >= 2 and num_layers ({}) >= 0", model,
               c.in_channels, c.num_classes, c.num_layers);
  ATTEND_CHECK(c.model_dim >= 1 && c.num_heads >= 1 && c.model_dim % c.num_heads == 0, ValueError,
               "{}: model_dim {} must be a positive multiple of num_heads {}", model, c.model_dim, c.num_heads);
  ATTEND_CHECK(c.pixel_std > 0, ValueError, "{}: pixel_std must be positive, got {}", model, c.pixel_std);
}

// images (B, C, H, W) in [0, 1] -> (images - mean) / std, after checking the shape.
template <typename T>
Tensor<T> standardize(const char* model, const Tensor<T>& images, const ImageTransformerConfig& c) {
  ATTEND_CHECK(images.rank() == 4 && images.size(1) == c.in_channels && images.size(2) == c.image_size &&
                   images.size(3) == c.image_size,
               ShapeError, "{}: images {} must be (B, {}, {}, {})", model, shape_string(images.shape()), c.in_channels,
               c.image_size, c.image_size);
  return mul_scalar(add_scalar(images, static_cast<T>(-c.pixel_mean)), static_cast<T>(1.0 / c.pixel_std));
}

}  // namespace

void check_config(const ConvAttentionConfig& config) {
  check_transformer_config("ConvAttentionClassifier", config.transformer, 4);  // two 2x2 poolings
  ATTEND_CHECK(config.stem_channels >= 1, ValueError, "ConvAttentionClassifier: stem_channels must be >= 1, got {}",
               config.stem_channels);
}

void check_config(const VisionTransformerConfig& config) {
  ATTEND_CHECK(config.patch_size >= 1, ValueError, "VisionTransformer: patch_size must be >= 1, got {}",
               config.patch_size);
  check_transformer_config("VisionTransformer", config.transformer, config.patch_size);
}

template <typename T>
TokenClassifierTrunk<T>::TokenClassifierTrunk(const ImageTransformerConfig& c, int64_t tokens, Generator& generator)
    : tokens_(tokens) {
  const int64_t e = c.model_dim;
  positions_ =
      this->register_module("positions", std::make_shared<nn::LearnedPositionalEmbedding<T>>(tokens, e, generator));
  nn::TransformerLayerConfig layer;
  layer.model_dim = e;
  layer.num_heads = c.num_heads;
  layer.feedforward_dim = c.feedforward_dim > 0 ? c.feedforward_dim : 2 * e;
  layer.dropout = c.dropout;
  layer.activation = nn::Activation::kGelu;
  layer.norm_first = true;
  for (int64_t l = 0; l < c.num_layers; ++l) {
    layers_.push_back(this->register_module(fmt::format("layers.{}", l),
                                            std::make_shared<nn::TransformerEncoderLayer<T>>(layer, generator)));
  }
  norm_ = this->register_module("norm", std::make_shared<nn::LayerNorm<T>>(Shape{e}, 1e-5));
  pooling_ = this->register_module("pooling",
                                   std::make_shared<nn::AttentionPooling<T>>(PoolingMode::kLearnedQuery, e, generator));
  head_ = this->register_module("head", std::make_shared<nn::Linear<T>>(e, c.num_classes, true, generator));
}

template <typename T>
Tensor<T> TokenClassifierTrunk<T>::forward(const Tensor<T>& tokens) {
  ATTEND_CHECK(tokens.rank() == 3 && tokens.size(1) == tokens_ && tokens.size(2) == positions_->dim(), ShapeError,
               "TokenClassifierTrunk: tokens {} must be (B, {}, {})", shape_string(tokens.shape()), tokens_,
               positions_->dim());
  Tensor<T> h = add(tokens, positions_->forward(tokens_));  // (B, N, E)
  for (auto& layer : layers_) h = layer->forward(h);
  const AttentionPoolingResult<T> pooled = pooling_->forward(norm_->forward(h));  // (B, E), weights (B, N)
  last_pooling_weights_ = pooled.weights.detach();
  return head_->forward(pooled.output);  // (B, classes)
}

template <typename T>
ConvAttentionClassifier<T>::ConvAttentionClassifier(const ConvAttentionConfig& config, Generator& generator)
    : config_(config) {
  check_config(config);
  const ImageTransformerConfig& c = config.transformer;
  conv1_ = this->register_module(
      "conv1",
      std::make_shared<nn::Conv2d<T>>(
          nn::Conv2dConfig{
              .in_channels = c.in_channels, .out_channels = config.stem_channels, .kernel_size = 3, .padding = 1},
          generator));
  conv2_ = this->register_module(
      "conv2",
      std::make_shared<nn::Conv2d<T>>(
          nn::Conv2dConfig{
              .in_channels = config.stem_channels, .out_channels = c.model_dim, .kernel_size = 3, .padding = 1},
          generator));
  const int64_t side = c.image_size / 4;
  trunk_ = this->register_module("trunk", std::make_shared<TokenClassifierTrunk<T>>(c, side * side, generator));
}

template <typename T>
Tensor<T> ConvAttentionClassifier<T>::forward(const Tensor<T>& images) {
  Tensor<T> x = standardize("ConvAttentionClassifier", images, config_.transformer);  // (B, C, H, W)
  x = max_pool2d(relu(conv1_->forward(x)), 2);                                        // (B, S, H/2, W/2)
  x = max_pool2d(relu(conv2_->forward(x)), 2);                                        // (B, E, H/4, W/4)
  const int64_t batch = x.size(0), channels = x.size(1), positions = x.size(2) * x.size(3);
  const Tensor<T> tokens = x.reshape({batch, channels, positions}).transpose(1, 2).contiguous();  // (B, N, E)
  return trunk_->forward(tokens);
}

template <typename T>
VisionTransformer<T>::VisionTransformer(const VisionTransformerConfig& config, Generator& generator) : config_(config) {
  check_config(config);
  const ImageTransformerConfig& c = config.transformer;
  patches_ = this->register_module(
      "patches", std::make_shared<nn::PatchEmbedding<T>>(
                     nn::PatchEmbeddingConfig{
                         .in_channels = c.in_channels, .patch_size = config.patch_size, .embed_dim = c.model_dim},
                     generator));
  const int64_t side = c.image_size / config.patch_size;
  trunk_ = this->register_module("trunk", std::make_shared<TokenClassifierTrunk<T>>(c, side * side, generator));
}

template <typename T>
Tensor<T> VisionTransformer<T>::forward(const Tensor<T>& images) {
  const Tensor<T> x = standardize("VisionTransformer", images, config_.transformer);  // (B, C, H, W)
  return trunk_->forward(patches_->forward(x));                                       // (B, N, E) -> (B, classes)
}

template class TokenClassifierTrunk<float>;
template class TokenClassifierTrunk<double>;
template class ConvAttentionClassifier<float>;
template class ConvAttentionClassifier<double>;
template class VisionTransformer<float>;
template class VisionTransformer<double>;

}  // namespace attend::models
