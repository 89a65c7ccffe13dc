// The parameter tables that checkpoints are checked against before a model is built
// (models/parameter_table.h) list exactly what the built model registers: the same names, in the
// same order, with the same shapes, for every architecture and the configurations that change
// which parameters there are (layers, pre- or post-norm, feed-forward width, patches, stems).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "attend/core/random.h"
#include "attend/models/g2p_factory.h"
#include "attend/models/image_classifier_factory.h"

namespace attend {
namespace {

std::vector<std::string> described(const io::TensorTable& table) {
  std::vector<std::string> lines;
  for (const io::TensorSpec& spec : table) {
    lines.push_back(fmt::format("{} {} {}", spec.name, io::dtype_name(spec.dtype), shape_string(spec.shape)));
  }
  return lines;
}

std::vector<std::string> described(const nn::Module<float>& model) {
  io::TensorTable table;
  for (const auto& [name, parameter] : model.named_parameters())
    table.push_back({name, io::DType::kF32, parameter.shape()});
  return described(table);
}

TEST(ParameterTable, IsWhatEveryG2PTransformerRegisters) {
  for (const bool norm_first : {true, false}) {
    for (const int64_t layers : {1, 3}) {
      models::G2PModelSpec spec;
      spec.transformer = {.model_dim = 12,
                          .num_heads = 3,
                          .encoder_layers = layers,
                          .decoder_layers = layers,
                          .feedforward_dim = 20,
                          .norm_first = norm_first};
      Generator generator(1);
      EXPECT_EQ(described(models::g2p_parameter_table(spec)), described(*models::make_g2p_model(spec, generator)))
          << "norm_first " << norm_first << ", layers " << layers;
    }
  }
}

TEST(ParameterTable, IsWhatTheG2PRecurrentModelRegisters) {
  models::G2PModelSpec spec;
  spec.architecture = "gru";
  spec.recurrent = {.embedding_dim = 6, .hidden_dim = 10};
  Generator generator(2);
  EXPECT_EQ(described(models::g2p_parameter_table(spec)), described(*models::make_g2p_model(spec, generator)));
}

TEST(ParameterTable, IsWhatEveryImageClassifierRegisters) {
  const models::ImageTransformerConfig base{.image_size = 12,
                                            .in_channels = 2,
                                            .num_classes = 5,
                                            .model_dim = 8,
                                            .num_heads = 2,
                                            .num_layers = 2,
                                            .feedforward_dim = 0};
  models::ImageTransformerConfig wide = base;
  wide.feedforward_dim = 24;
  wide.num_layers = 0;
  for (const models::ImageTransformerConfig& transformer : {base, wide}) {
    models::ImageClassifierSpec conv, vit;
    conv.architecture = "conv-attention";
    conv.conv_attention = {.transformer = transformer, .stem_channels = 3};
    vit.architecture = "vit";
    vit.vit = {.transformer = transformer, .patch_size = 3};
    for (const models::ImageClassifierSpec& spec : {conv, vit}) {
      Generator generator(3);
      EXPECT_EQ(described(models::image_classifier_parameter_table(spec)),
                described(*models::make_image_classifier<float>(spec, generator)))
          << spec.architecture << ", feedforward_dim " << transformer.feedforward_dim;
    }
  }
}

}  // namespace
}  // namespace attend
