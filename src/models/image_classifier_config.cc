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

int64_t integer_field(const ConfigFields& fields, const std::string& key) {
  const std::string& text = field(fields, key);
  size_t used = 0;
  int64_t value = -1;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  ATTEND_CHECK(used == text.size() && value >= 0 && value <= (int64_t{1} << 20), ValueError,
               "image classifier configuration: field '{}' = '{}' is not an integer in [0, 2^20]", key, text);
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
  c.image_size = integer_field(fields, "image_size");
  c.in_channels = integer_field(fields, "in_channels");
  c.num_classes = integer_field(fields, "num_classes");
  c.model_dim = integer_field(fields, "model_dim");
  c.num_heads = integer_field(fields, "num_heads");
  c.num_layers = integer_field(fields, "num_layers");
  c.feedforward_dim = integer_field(fields, "feedforward_dim");
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

template <typename T>
std::unique_ptr<ImageClassifier<T>> make_image_classifier(const ConfigFields& fields, Generator& generator) {
  const std::string& architecture = field(fields, "architecture");
  if (architecture == "conv-attention") {
    ConvAttentionConfig config;
    config.transformer = transformer_config_from(fields);
    config.stem_channels = integer_field(fields, "stem_channels");
    return std::make_unique<ConvAttentionClassifier<T>>(config, generator);
  }
  if (architecture == "vit") {
    VisionTransformerConfig config;
    config.transformer = transformer_config_from(fields);
    config.patch_size = integer_field(fields, "patch_size");
    return std::make_unique<VisionTransformer<T>>(config, generator);
  }
  throw ValueError(fmt::format("image classifier configuration: unknown architecture '{}' (conv-attention or vit)",
                               architecture));
}

template ConfigFields ConvAttentionClassifier<float>::config_fields() const;
template ConfigFields ConvAttentionClassifier<double>::config_fields() const;
template ConfigFields VisionTransformer<float>::config_fields() const;
template ConfigFields VisionTransformer<double>::config_fields() const;
template std::unique_ptr<ImageClassifier<float>> make_image_classifier(const ConfigFields&, Generator&);
template std::unique_ptr<ImageClassifier<double>> make_image_classifier(const ConfigFields&, Generator&);

}  // namespace attend::models
