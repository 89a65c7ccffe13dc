// nn::Linear on its weight quantized to GGML's blocks: forward is QuantizedMatrix::project of the
// rows plus the bias, bit for bit, for inputs of any rank; close to the float layer; refused in
// training mode, for widths that are not whole blocks, for blocks of another shape and for double
// layers. quantize_linear_layers quantizes exactly the Linear layers of whole blocks of a model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "attend/models/g2p_recurrent.h"
#include "attend/nn/linear.h"
#include "attend/nn/transformer.h"
#include "harness/expect_error.h"

namespace attend {
namespace {

TEST(LinearQuantized, ForwardIsTheQuantizedProjectionOfTheRowsPlusBias) {
  Generator generator(31);
  nn::Linear<float> layer(64, 40, true, generator);
  layer.eval();
  const Tensor<float> x = Tensor<float>::uniform({3, 5, 64}, -2.0f, 2.0f, generator);  // (B, N, in)
  const Tensor<float> exact = layer.forward(x);                                        // (B, N, out)
  for (const quant::QuantFormat format :
       {quant::QuantFormat::q8_0, quant::QuantFormat::q4_0, quant::QuantFormat::q4_1}) {
    SCOPED_TRACE(quant::quant_format_name(format));
    layer.quantize(format);
    ASSERT_NE(layer.quantized(), nullptr);
    const Tensor<float> y = layer.forward(x);
    EXPECT_EQ(y.shape(), (Shape{3, 5, 40}));
    const quant::QuantizedMatrix blocks = quant::QuantizedMatrix::quantize(format, layer.weight(), "w");
    EXPECT_EQ(y.to_vector(), blocks.project(x.reshape({15, 64}), layer.bias()).to_vector());
    // Near the float layer: Q8_0 within ~1%, the 4-bit formats within ~15% of the outputs' scale.
    const double tolerance = format == quant::QuantFormat::q8_0 ? 0.02 : 0.25;
    const std::vector<float> got = y.to_vector(), want = exact.to_vector();
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tolerance) << i;
    // A file's blocks, given: the same products.
    nn::Linear<float> other(64, 40, true, generator);
    other.eval();
    other.set_quantized(blocks);
    EXPECT_NE(other.forward(x).to_vector(), y.to_vector());  // its own bias
  }
  layer.train();
  expect_error<ValueError>([&] { layer.forward(x); }, {"inference only"});
}

TEST(LinearQuantized, RefusesWhatItCannotQuantize) {
  Generator generator(32);
  nn::Linear<float> narrow(48, 8, false, generator);  // 48 is not a multiple of 32
  expect_error<ValueError>([&] { narrow.quantize(quant::QuantFormat::q8_0); }, {"multiple of 32"});
  nn::Linear<float> layer(32, 8, false, generator);
  const nn::Linear<float> wider(64, 8, false, generator);
  expect_error<ShapeError>(
      [&] { layer.set_quantized(quant::QuantizedMatrix::quantize(quant::QuantFormat::q8_0, wider.weight(), "w")); },
      {"blocks of (8, 64) for a weight of (8, 32)"});
  nn::Linear<double> twice(32, 8, false, generator);
  expect_error<ValueError>([&] { twice.quantize(quant::QuantFormat::q8_0); }, {"only float layers"});
}

TEST(LinearQuantized, QuantizeLinearLayersTakesEveryLayerOfWholeBlocks) {
  Generator generator(33);
  nn::TransformerLayerConfig c;
  c.model_dim = 32, c.num_heads = 2, c.feedforward_dim = 48, c.dropout = 0.0;
  nn::TransformerEncoderLayer<float> layer(c, generator);
  layer.eval();
  const Tensor<float> x = Tensor<float>::uniform({2, 6, 32}, -1.0f, 1.0f, generator);
  const Tensor<float> exact = layer.forward(x);
  // q, k, v, output (32 wide) and the feed-forward's first layer (32 in); its second takes 48: float.
  EXPECT_EQ(nn::quantize_linear_layers(layer, quant::QuantFormat::q8_0), 5);
  const std::vector<float> got = layer.forward(x).to_vector(), want = exact.to_vector();
  double largest = 0;
  for (size_t i = 0; i < got.size(); ++i) largest = std::max(largest, std::fabs(static_cast<double>(got[i] - want[i])));
  EXPECT_GT(largest, 0.0);   // quantized
  EXPECT_LT(largest, 0.05);  // and close
}

// A layer whose owner reads its weight itself (G2PRecurrent's output layer under a latent
// alignment) is kept float: quantize_linear_layers passes it by and quantizing it is refused, so
// --weights never claims a layer it does not run.
TEST(LinearQuantized, LayersKeptFloatAreNeverQuantized) {
  Generator generator(34);
  nn::Linear<float> layer(64, 8, true, generator);
  layer.keep_float();
  EXPECT_FALSE(layer.quantizable());
  expect_error<ValueError>([&] { layer.quantize(quant::QuantFormat::q8_0); }, {"kept float"});
  models::G2PRecurrentConfig config;
  config.embedding_dim = 32, config.hidden_dim = 32;  // the output layer takes 3 H = 96: whole blocks
  config.alignment = models::AlignmentTraining::kHard;
  models::G2PRecurrent<float> model(config, 30, 40, generator);
  nn::quantize_linear_layers(model, quant::QuantFormat::q8_0);
  for (const auto& [name, module] : model.named_modules()) {
    if (const auto* linear = dynamic_cast<const nn::Linear<float>*>(module)) {
      EXPECT_EQ(linear->quantized() != nullptr, name != "output") << name;
    }
  }
}

}  // namespace
}  // namespace attend
