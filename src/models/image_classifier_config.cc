// Configurations <-> text fields (checkpoint metadata). Doubles are written in fmt's shortest
// form that reads back to the same bits ("0.1", not "0.10000000000000001").
#include <fmt/format.h>

#include <cmath>

#include "attend/core/error.h"
#include "attend/models/image_classifier.h"

namespace attend::models {
namespace {

const std::string& field(const ConfigFields& fields, const std::string& key) {
  const auto found = fields.find(key);
  ATTEND_CHECK(found != fields.end(), ValueError, "image classifier configuration: the field '{}' is missing", key);
  return found->second;
}

// Bounds on the sizes a checkpoint may claim: those of attend train fashion-mnist's options
// (tools/cli_checks.h), and images and channels far beyond Fashion-MNIST's 28 x 28 x 1.
constexpr int64_t kMaxImageSize = 4'096;
constexpr int64_t kMaxChannels = 4'096;
constexpr int64_t kMaxWidth = 65'536;
constexpr int64_t kMaxHeads = 1'024;
constexpr int64_t kMaxLayers = 1'024;

int64_t integer_field(const ConfigFields& fields, const std::string& key, int64_t max) {
  const std::string& text = field(fields, key);
  size_t used = 0;
  int64_t value = -1;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  ATTEND_CHECK(used == text.size() && value >= 0 && value <= max, ValueError,
               "image classifier configuration: field '{}' = '{}' is not an integer in [0, {}]", key, text, max);
  return value;
}

double real_field(const ConfigFields& fields, const std::string& key) {
  const std::string& text = field(fields, key);
  size_t used = 0;
  double value = NAN;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  ATTEND_CHECK(used == text.size() && std::isfinite(value), ValueError,
               "image classifier configuration: field '{}' = '{}' is not a finite number", key, text);
  return value;
}

ConfigFields transformer_fields(const std::string& architecture, const ImageTransformerConfig& c) {
  return {{"architecture", architecture},
          {"image_size", std::to_string(c.image_size)},
          {"in_channels", std::to_string(c.in_channels)},
          {"num_classes", std::to_string(c.num_classes)},
          {"model_dim", std::to_string(c.model_dim)},
          {"num_heads", std::to_string(c.num_heads)},
          {"num_layers", std::to_string(c.num_layers)},
          {"feedforward_dim", std::to_string(c.feedforward_dim)},
          {"dropout", fmt::format("{}", c.dropout)},
          {"pixel_mean", fmt::format("{}", c.pixel_mean)},
          {"pixel_std", fmt::format("{}", c.pixel_std)}};
}

ImageTransformerConfig transformer_config_from(const ConfigFields& fields) {
  ImageTransformerConfig c;
  c.image_size = integer_field(fields, "image_size", kMaxImageSize);
  c.in_channels = integer_field(fields, "in_channels", kMaxChannels);
  c.num_classes = integer_field(fields, "num_classes", kMaxWidth);
  c.model_dim = integer_field(fields, "model_dim", kMaxWidth);
  c.num_heads = integer_field(fields, "num_heads", kMaxHeads);
  c.num_layers = integer_field(fields, "num_layers", kMaxLayers);
  c.feedforward_dim = integer_field(fields, "feedforward_dim", kMaxWidth);
  c.dropout = real_field(fields, "dropout");
  c.pixel_mean = real_field(fields, "pixel_mean");
  c.pixel_std = real_field(fields, "pixel_std");
  return c;
}

}  // namespace

template <typename T>
ConfigFields ConvAttentionClassifier<T>::config_fields() const {
  ConfigFields fields = transformer_fields(architecture(), config_.transformer);
  fields["stem_channels"] = std::to_string(config_.stem_channels);
  return fields;
}

template <typename T>
ConfigFields VisionTransformer<T>::config_fields() const {
  ConfigFields fields = transformer_fields(architecture(), config_.transformer);
  fields["patch_size"] = std::to_string(config_.patch_size);
  return fields;
}

ImageClassifierSpec image_classifier_spec(const ConfigFields& fields) {
  ImageClassifierSpec spec;
  spec.architecture = field(fields, "architecture");
  if (spec.architecture == "conv-attention") {
    spec.conv_attention.transformer = transformer_config_from(fields);
    spec.conv_attention.stem_channels = integer_field(fields, "stem_channels", kMaxChannels);
    check_config(spec.conv_attention);
  } else if (spec.architecture == "vit") {
    spec.vit.transformer = transformer_config_from(fields);
    spec.vit.patch_size = integer_field(fields, "patch_size", kMaxImageSize);
    check_config(spec.vit);
  } else {
    fail<ValueError>("image classifier configuration: unknown architecture '{}' (conv-attention or vit)",
                     spec.architecture);
  }
  return spec;
}

template <typename T>
std::unique_ptr<ImageClassifier<T>> make_image_classifier(const ImageClassifierSpec& spec, Generator& generator) {
  if (spec.architecture == "vit") return std::make_unique<VisionTransformer<T>>(spec.vit, generator);
  ATTEND_CHECK(spec.architecture == "conv-attention", ValueError,
               "make_image_classifier: unknown architecture '{}' (conv-attention or vit)", spec.architecture);
  return std::make_unique<ConvAttentionClassifier<T>>(spec.conv_attention, generator);
}

template <typename T>
std::unique_ptr<ImageClassifier<T>> make_image_classifier(const ConfigFields& fields, Generator& generator) {
  return make_image_classifier<T>(image_classifier_spec(fields), generator);
}

template ConfigFields ConvAttentionClassifier<float>::config_fields() const;
template ConfigFields ConvAttentionClassifier<double>::config_fields() const;
template ConfigFields VisionTransformer<float>::config_fields() const;
template ConfigFields VisionTransformer<double>::config_fields() const;
template std::unique_ptr<ImageClassifier<float>> make_image_classifier(const ImageClassifierSpec&, Generator&);
template std::unique_ptr<ImageClassifier<double>> make_image_classifier(const ImageClassifierSpec&, Generator&);
template std::unique_ptr<ImageClassifier<float>> make_image_classifier(const ConfigFields&, Generator&);
template std::unique_ptr<ImageClassifier<double>> make_image_classifier(const ConfigFields&, Generator&);

}  // namespace attend::models
