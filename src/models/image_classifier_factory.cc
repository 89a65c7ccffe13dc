#include "attend/models/image_classifier_factory.h"

#include <filesystem>

#include <fmt/format.h>

#include "attend/core/error.h"
#include "attend/models/parameter_table.h"

namespace attend::models {
namespace {

// The parameters of TokenClassifierTrunk over `tokens` positions, in its constructor's order.
void add_trunk(io::TensorTable& table, const ImageTransformerConfig& c, int64_t tokens) {
  const int64_t e = c.model_dim;
  add_parameter(table, "trunk.positions.weight", {tokens, e});
  const nn::TransformerLayerConfig layer{
      .model_dim = e, .num_heads = c.num_heads, .feedforward_dim = c.feedforward_dim > 0 ? c.feedforward_dim : 2 * e};
  for (int64_t l = 0; l < c.num_layers; ++l) add_encoder_layer(table, fmt::format("trunk.layers.{}.", l), layer);
  add_layer_norm(table, "trunk.norm.", e);
  add_parameter(table, "trunk.pooling.query", {e});
  add_linear(table, "trunk.head.", e, c.num_classes);
}

// The configuration fields that decide the parameters' shapes, for an error message.
std::string describe_shapes(const ImageClassifierSpec& spec) {
  const bool vit = spec.architecture == "vit";
  const ImageTransformerConfig& c = vit ? spec.vit.transformer : spec.conv_attention.transformer;
  return fmt::format(
      "its metadata (architecture={}, image_size={}, in_channels={}, num_classes={}, model_dim={}, num_layers={}, "
      "feedforward_dim={}, {}={})",
      spec.architecture, c.image_size, c.in_channels, c.num_classes, c.model_dim, c.num_layers, c.feedforward_dim,
      vit ? "patch_size" : "stem_channels", vit ? spec.vit.patch_size : spec.conv_attention.stem_channels);
}

}  // namespace

io::TensorTable image_classifier_parameter_table(const ImageClassifierSpec& spec) {
  io::TensorTable table;
  if (spec.architecture == "vit") {
    const ImageTransformerConfig& c = spec.vit.transformer;
    const int64_t p = spec.vit.patch_size, side = c.image_size / p;
    add_linear(table, "patches.projection.", c.in_channels * p * p, c.model_dim);
    add_trunk(table, c, side * side);
    return table;
  }
  const ImageTransformerConfig& c = spec.conv_attention.transformer;
  const int64_t side = c.image_size / 4;  // two 2x2 poolings
  add_conv2d(table, "conv1.", c.in_channels, spec.conv_attention.stem_channels, 3);
  add_conv2d(table, "conv2.", spec.conv_attention.stem_channels, c.model_dim, 3);
  add_trunk(table, c, side * side);
  return table;
}

ImageClassifierSpec image_classifier_spec_from_checkpoint(const io::SafetensorsFile& file) {
  ImageClassifierSpec spec;
  try {
    spec = image_classifier_spec(file.metadata());
  } catch (const ValueError& error) {
    fail<ValueError>("'{}': {}", file.path(), error.what());  // which file, for the command line
  }
  io::check_tensor_table(file, image_classifier_parameter_table(spec), describe_shapes(spec));
  return spec;
}

std::unique_ptr<ImageClassifier<float>> load_image_classifier(const io::SafetensorsFile& file) {
  Generator generator(0);
  std::unique_ptr<ImageClassifier<float>> model =
      make_image_classifier<float>(image_classifier_spec_from_checkpoint(file), generator);
  io::load_module(file, *model, io::UnexpectedTensors::kReturnTrainingState);
  model->eval();
  return model;
}

std::unique_ptr<ImageClassifier<float>> load_image_classifier(const std::string& path) {
  ATTEND_CHECK(std::filesystem::exists(path), ValueError, "checkpoint '{}' does not exist", path);
  return load_image_classifier(io::load_safetensors(path));
}

}  // namespace attend::models
