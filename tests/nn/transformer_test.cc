#include <gtest/gtest.h>

#include <cmath>

#include "attend/nn/transformer.h"
#include "harness/module_gradcheck.h"

namespace attend {
namespace {

using nn::TransformerLayerConfig;

TransformerLayerConfig small_config(bool norm_first, nn::Activation activation = nn::Activation::kGelu) {
  TransformerLayerConfig c;
  c.model_dim = 8;
  c.num_heads = 2;
  c.feedforward_dim = 12;
  c.dropout = 0.0;
  c.norm_first = norm_first;
  c.activation = activation;
  return c;
}

TEST(TransformerLayers, EncoderGradientsOfEveryParameter) {
  for (bool norm_first : {false, true}) {
    Generator g(1);
    nn::TransformerEncoderLayer<double> layer(small_config(norm_first), g);
    const auto x = Tensor64::randn({2, 5, 8}, g);
    const auto w = Tensor64::randn({2, 5, 8}, g);
    const auto padding = MaskTensor::from_vector({2, 5}, {0, 0, 0, 1, 1, 0, 0, 0, 0, 0});
    auto loss = [&] { return sum(mul(layer.forward(x, padding), w)); };
    EXPECT_EQ(testing::check_parameter_gradients(layer, loss), "") << "norm_first " << norm_first;
  }
}

TEST(TransformerLayers, DecoderGradientsOfEveryParameter) {
  for (bool norm_first : {false, true}) {
    Generator g(2);
    nn::TransformerDecoderLayer<double> layer(small_config(norm_first, nn::Activation::kRelu), g);
    const auto x = Tensor64::randn({2, 4, 8}, g), memory = Tensor64::randn({2, 6, 8}, g),
               w = Tensor64::randn({2, 4, 8}, g);
    nn::TransformerMasks<double> masks;
    masks.source_padding = MaskTensor::from_vector({2, 6}, {0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0});
    auto loss = [&] { return sum(mul(layer.forward(x, memory, masks), w)); };
    EXPECT_EQ(testing::check_parameter_gradients(layer, loss), "") << "norm_first " << norm_first;
  }
}

TEST(TransformerLayers, PostNormEncoderFollowsTheFormula) {
  // x1 = LN(x + SelfAttention(x)); out = LN(x1 + FF(x1)), computed by hand from the parts.
  Generator g(3);
  nn::TransformerEncoderLayer<double> layer(small_config(false), g);
  layer.eval();
  const auto x = Tensor64::randn({1, 4, 8}, g);
  const auto attention = layer.self_attention()->self_attention(x).output;
  const auto x1 = layer_norm(add(x, attention), {8});  // the layer norms start as weight 1, bias 0
  // FF through the layer's own parameters: input.weight, input.bias, output.weight, output.bias
  Tensor64 w1, b1, w2, b2;
  for (auto& [name, p] : layer.named_parameters()) {
    if (name == "feedforward.input.weight") w1 = p;
    if (name == "feedforward.input.bias") b1 = p;
    if (name == "feedforward.output.weight") w2 = p;
    if (name == "feedforward.output.bias") b2 = p;
  }
  const auto ff = add(matmul(gelu(add(matmul(x1, w1.transpose(0, 1)), b1)), w2.transpose(0, 1)), b2);
  const auto expected = layer_norm(add(x1, ff), {8}).to_vector();
  const auto got = layer.forward(x).to_vector();
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-12);
}

TEST(TransformerLayers, PaddedSourcePositionsDoNotChangeTheOthers) {
  Generator g(4);
  nn::TransformerEncoderLayer<double> layer(small_config(true), g);
  layer.eval();
  auto x = Tensor64::randn({1, 5, 8}, g);
  const auto padding = MaskTensor::from_vector({1, 5}, {0, 0, 0, 1, 1});
  const auto before = layer.forward(x, padding).slice(1, 0, 3).to_vector();
  for (int64_t i = 3 * 8; i < 5 * 8; ++i) x.data()[i] = 100.0 + i;  // change the padding
  const auto after = layer.forward(x, padding).slice(1, 0, 3).to_vector();
  for (size_t i = 0; i < before.size(); ++i) EXPECT_NEAR(before[i], after[i], 1e-12);
}

TEST(TransformerLayers, DecoderIncrementalEqualsFullRecomputation) {
  Generator g(5);
  auto config = small_config(true);
  config.positional = nn::AttentionPositional::kRotary;
  nn::TransformerDecoderLayer<float> layer(config, g);
  layer.eval();
  const auto x = Tensor32::randn({2, 7, 8}, g), memory = Tensor32::randn({2, 5, 8}, g);
  nn::TransformerMasks<float> masks;
  const auto full = layer.forward(x, memory, masks).to_vector();
  nn::DecoderLayerCache<float> cache;
  std::vector<Tensor32> steps;
  for (int64_t t = 0; t < 7; ++t) steps.push_back(layer.forward(x.slice(1, t, t + 1), memory, masks, &cache));
  const auto incremental = concat(steps, 1).to_vector();
  for (size_t i = 0; i < full.size(); ++i) EXPECT_NEAR(incremental[i], full[i], 1e-5);
}

TEST(TransformerLayers, DropoutOnlyInTrainingAndBadShapesRejected) {
  Generator g(6);
  auto config = small_config(false);
  config.dropout = 0.3;
  nn::TransformerEncoderLayer<float> layer(config, g);
  const auto x = Tensor32::randn({1, 4, 8}, g);
  layer.eval();
  EXPECT_EQ(layer.forward(x).to_vector(), layer.forward(x).to_vector());
  layer.train();
  EXPECT_NE(layer.forward(x).to_vector(), layer.forward(x).to_vector());
  EXPECT_THROW(layer.forward(Tensor32::ones({1, 4, 7})), ShapeError);
  nn::TransformerDecoderLayer<float> decoder(config, g);
  EXPECT_THROW(decoder.forward(x, Tensor32::ones({2, 3, 8}), {}), ShapeError);
  config.dropout = 1.5;
  EXPECT_THROW(nn::TransformerEncoderLayer<float>(config, g), ValueError);
}

}  // namespace
}  // namespace attend
