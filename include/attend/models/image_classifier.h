// Image classifiers that attend over spatial positions, for small grey images (Fashion-MNIST):
//
//   ConvAttentionClassifier   a convolutional stem turns the image into a 7x7 grid of features,
//                             and self-attention relates the 49 positions (a hybrid in the
//                             manner of Dosovitskiy et al. 2021, section 3.1, "hybrid
//                             architecture", with a stem of LeCun et al. 1998's kind)
//     x = (images - mean) / std                                  (B, C, H, W)
//     x = MaxPool2(ReLU(Conv3x3(x)))        C -> stem_channels   (B, S, H/2, W/2)
//     x = MaxPool2(ReLU(Conv3x3(x)))        -> E                 (B, E, H/4, W/4)
//     tokens = x flattened over positions                        (B, N = H W / 16, E)
//
//   VisionTransformer         ViT (Dosovitskiy et al. 2021): non-overlapping p x p patches,
//                             each projected linearly to one token
//     tokens = PatchEmbedding((images - mean) / std)             (B, N = H W / p^2, E)
//
// and both end in the same trunk:
//     h = tokens + P                        P (N, E) learned positions, N(0, 0.02)
//     h = EncoderLayer_l(h), l = 1..L       pre-norm (Xiong et al. 2020), GELU, dropout
//     h = LayerNorm(h)
//     v = AttentionPooling(h)               learned query (Lee et al. 2019)     (B, E)
//     logits = v W^T + b                                                        (B, classes)
//
// Attention pooling stands in for ViT's [CLS] token: one learned query reads the sequence once,
// at the end, instead of a token carried through every layer.
//
// Every configuration field travels in a checkpoint's metadata as text (config_fields); a
// model is rebuilt from those fields by make_image_classifier, and from a checkpoint, its fields
// checked against its tensors first, by load_image_classifier (models/image_classifier_factory.h).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "attend/core/random.h"
#include "attend/nn/attention_pooling.h"
#include "attend/nn/conv2d.h"
#include "attend/nn/linear.h"
#include "attend/nn/module.h"
#include "attend/nn/patch_embedding.h"
#include "attend/nn/positional_embedding.h"
#include "attend/nn/transformer.h"

namespace attend::models {

// Text fields of a configuration, as stored in checkpoint metadata: {"architecture": "vit", ...}.
using ConfigFields = std::map<std::string, std::string>;

// What both models share: the input, the trunk and the classes.
struct ImageTransformerConfig {
  int64_t image_size = 28;  // H = W
  int64_t in_channels = 1;  // C
  int64_t num_classes = 10;
  int64_t model_dim = 64;  // E
  int64_t num_heads = 4;
  int64_t num_layers = 2;       // L
  int64_t feedforward_dim = 0;  // 0: 2 E
  double dropout = 0.1;
  // The input is standardized inside the model so that checkpoints take raw [0, 1] pixels;
  // the defaults are Fashion-MNIST's training-set pixel mean and standard deviation.
  double pixel_mean = 0.2860;
  double pixel_std = 0.3530;
};

struct ConvAttentionConfig {
  ImageTransformerConfig transformer;
  int64_t stem_channels = 32;  // channels of the first conv block; the second has E
};

struct VisionTransformerConfig {
  ImageTransformerConfig transformer;
  int64_t patch_size = 4;  // p, dividing image_size
};

// Either model, as its configuration fields describe it.
struct ImageClassifierSpec {
  std::string architecture;            // "conv-attention" or "vit"
  ConvAttentionConfig conv_attention;  // for "conv-attention"
  VisionTransformerConfig vit;         // for "vit"
};

// ValueError naming the field when a model of `config` cannot be built; the constructors check it.
void check_config(const ConvAttentionConfig& config);
void check_config(const VisionTransformerConfig& config);

// The common interface: images (B, C, H, W) in [0, 1] -> logits (B, num_classes).
template <typename T>
class ImageClassifier : public nn::Module<T> {
 public:
  virtual Tensor<T> forward(const Tensor<T>& images) = 0;
  // "conv-attention" or "vit".
  virtual std::string architecture() const = 0;
  // Every configuration field, "architecture" included; make_image_classifier inverts this.
  virtual ConfigFields config_fields() const = 0;
  virtual const ImageTransformerConfig& transformer_config() const = 0;
  // The attention pooling's weights (B, N) over the last layer's tokens, of the last forward
  // call: where the classifier looked (undefined before the first call).
  virtual const Tensor<T>& last_pooling_weights() const = 0;
};

// Tokens (B, N, E) -> logits (B, classes): positions, encoder layers, norm, pooling, head.
template <typename T>
class TokenClassifierTrunk : public nn::Module<T> {
 public:
  TokenClassifierTrunk(const ImageTransformerConfig& config, int64_t tokens, Generator& generator);
  Tensor<T> forward(const Tensor<T>& tokens);  // (B, N, E) -> (B, classes)
  // The pooling weights (B, N) of the last forward call: where the classifier looked.
  const Tensor<T>& last_pooling_weights() const { return last_pooling_weights_; }

 private:
  int64_t tokens_;
  std::shared_ptr<nn::LearnedPositionalEmbedding<T>> positions_;  // (N, E)
  std::vector<std::shared_ptr<nn::TransformerEncoderLayer<T>>> layers_;
  std::shared_ptr<nn::LayerNorm<T>> norm_;
  std::shared_ptr<nn::AttentionPooling<T>> pooling_;
  std::shared_ptr<nn::Linear<T>> head_;
  Tensor<T> last_pooling_weights_;  // (B, N)
};

template <typename T>
class ConvAttentionClassifier : public ImageClassifier<T> {
 public:
  ConvAttentionClassifier(const ConvAttentionConfig& config, Generator& generator);
  Tensor<T> forward(const Tensor<T>& images) override;  // (B, C, H, W) -> (B, classes)
  std::string architecture() const override { return "conv-attention"; }
  ConfigFields config_fields() const override;
  const ImageTransformerConfig& transformer_config() const override { return config_.transformer; }
  const Tensor<T>& last_pooling_weights() const override { return trunk_->last_pooling_weights(); }
  const ConvAttentionConfig& config() const { return config_; }

 private:
  ConvAttentionConfig config_;
  std::shared_ptr<nn::Conv2d<T>> conv1_, conv2_;  // C -> S -> E, 3x3, padding 1
  std::shared_ptr<TokenClassifierTrunk<T>> trunk_;
};

template <typename T>
class VisionTransformer : public ImageClassifier<T> {
 public:
  VisionTransformer(const VisionTransformerConfig& config, Generator& generator);
  Tensor<T> forward(const Tensor<T>& images) override;  // (B, C, H, W) -> (B, classes)
  std::string architecture() const override { return "vit"; }
  ConfigFields config_fields() const override;
  const ImageTransformerConfig& transformer_config() const override { return config_.transformer; }
  const Tensor<T>& last_pooling_weights() const override { return trunk_->last_pooling_weights(); }
  const VisionTransformerConfig& config() const { return config_; }

 private:
  VisionTransformerConfig config_;
  std::shared_ptr<nn::PatchEmbedding<T>> patches_;
  std::shared_ptr<TokenClassifierTrunk<T>> trunk_;
};

// Reads config_fields() back (e.g. a checkpoint's metadata; other keys are ignored) and checks it.
// ValueError naming the field for an unknown architecture, a missing field, a malformed value, a
// size beyond its bound or sizes that do not fit together.
ImageClassifierSpec image_classifier_spec(const ConfigFields& fields);
// A freshly initialized model (weights drawn from `generator`).
template <typename T>
std::unique_ptr<ImageClassifier<T>> make_image_classifier(const ImageClassifierSpec& spec, Generator& generator);
template <typename T>
std::unique_ptr<ImageClassifier<T>> make_image_classifier(const ConfigFields& fields, Generator& generator);

extern template class TokenClassifierTrunk<float>;
extern template class TokenClassifierTrunk<double>;
extern template class ConvAttentionClassifier<float>;
extern template class ConvAttentionClassifier<double>;
extern template class VisionTransformer<float>;
extern template class VisionTransformer<double>;

}  // namespace attend::models
