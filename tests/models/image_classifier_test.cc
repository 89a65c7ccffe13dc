// ConvAttentionClassifier and VisionTransformer: shapes, parameter counts, finite-difference
// gradients of every parameter on tiny float64 models, training versus evaluation mode, and the
// configuration fields that rebuild a model from a checkpoint's metadata.
#include <gtest/gtest.h>

#include "attend/models/image_classifier.h"
#include "harness/expect_error.h"
#include "harness/module_gradcheck.h"

namespace attend {
namespace {

using models::ConvAttentionConfig;
using models::ImageTransformerConfig;
using models::VisionTransformerConfig;

// 8x8 images, E = 4, one layer: small enough for finite differences of every parameter.
ImageTransformerConfig tiny_transformer(double dropout) {
  ImageTransformerConfig c;
  c.image_size = 8;
  c.num_classes = 3;
  c.model_dim = 4;
  c.num_heads = 2;
  c.num_layers = 1;
  c.feedforward_dim = 6;
  c.dropout = dropout;
  return c;
}

ConvAttentionConfig tiny_conv(double dropout = 0.0) {
  return {.transformer = tiny_transformer(dropout), .stem_channels = 2};
}
VisionTransformerConfig tiny_vit(double dropout = 0.0) {
  return {.transformer = tiny_transformer(dropout), .patch_size = 4};
}

// The trunk's parameters for N tokens of width E, L layers of feed-forward width F, K classes.
int64_t trunk_parameters(int64_t n, int64_t e, int64_t l, int64_t f, int64_t k) {
  const int64_t layer = 4 * (e * e + e) + (e * f + f) + (f * e + e) + 2 * 2 * e;  // attention, FF, 2 norms
  return n * e + l * layer + 2 * e + e + (e * k + k);  // positions, layers, norm, pooling query, head
}

TEST(ImageClassifier, ShapesAndParameterCountsOfTheFullSizeModels) {
  Generator generator(1);
  ConvAttentionConfig conv;  // 28x28, S = 32, E = 64, L = 2, F = 2E
  models::ConvAttentionClassifier<float> conv_model(conv, generator);
  const auto images = Tensor32::uniform({3, 1, 28, 28}, 0, 1, generator);
  EXPECT_EQ(conv_model.forward(images).shape(), (Shape{3, 10}));
  const int64_t stem = (1 * 32 * 9 + 32) + (32 * 64 * 9 + 64);
  EXPECT_EQ(conv_model.parameter_count(), stem + trunk_parameters(49, 64, 2, 128, 10));

  VisionTransformerConfig vit;  // 4x4 patches: 49 tokens
  models::VisionTransformer<float> vit_model(vit, generator);
  EXPECT_EQ(vit_model.forward(images).shape(), (Shape{3, 10}));
  EXPECT_EQ(vit_model.parameter_count(), (16 * 64 + 64) + trunk_parameters(49, 64, 2, 128, 10));
}

TEST(ImageClassifier, GradientsOfEveryParameter) {
  Generator generator(2);
  std::vector<std::unique_ptr<models::ImageClassifier<double>>> classifiers;
  classifiers.push_back(std::make_unique<models::ConvAttentionClassifier<double>>(tiny_conv(), generator));
  classifiers.push_back(std::make_unique<models::VisionTransformer<double>>(tiny_vit(), generator));
  const auto images = Tensor64::uniform({2, 1, 8, 8}, 0, 1, generator);
  const auto probe = Tensor64::randn({2, 3}, generator);
  for (auto& model : classifiers) {
    EXPECT_EQ(testing::check_parameter_gradients(*model, [&] { return sum(mul(model->forward(images), probe)); }), "")
        << model->architecture();
  }
}

TEST(ImageClassifier, DropoutOnlyInTrainingMode) {
  Generator generator(4);
  std::vector<std::unique_ptr<models::ImageClassifier<double>>> classifiers;
  classifiers.push_back(std::make_unique<models::ConvAttentionClassifier<double>>(tiny_conv(0.5), generator));
  classifiers.push_back(std::make_unique<models::VisionTransformer<double>>(tiny_vit(0.5), generator));
  const auto images = Tensor64::uniform({2, 1, 8, 8}, 0, 1, generator);
  for (auto& model : classifiers) {
    model->train();
    EXPECT_NE(model->forward(images).to_vector(), model->forward(images).to_vector()) << model->architecture();
    model->eval();
    const auto first = model->forward(images).to_vector();
    EXPECT_EQ(first, model->forward(images).to_vector()) << model->architecture();
  }
}

TEST(ImageClassifier, ConfigFieldsRebuildTheSameModel) {
  Generator generator(5);
  models::VisionTransformer<double> vit(tiny_vit(0.25), generator);
  models::ConvAttentionClassifier<double> conv(tiny_conv(), generator);
  for (const models::ImageClassifier<double>* model : {static_cast<const models::ImageClassifier<double>*>(&vit),
                                                       static_cast<const models::ImageClassifier<double>*>(&conv)}) {
    const auto fields = model->config_fields();
    const auto rebuilt = models::make_image_classifier<double>(fields, generator);
    EXPECT_EQ(rebuilt->architecture(), model->architecture());
    EXPECT_EQ(rebuilt->config_fields(), fields);
    const auto want = model->named_parameters(), got = rebuilt->named_parameters();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].first, want[i].first);
      EXPECT_EQ(got[i].second.shape(), want[i].second.shape()) << want[i].first;
    }
  }
  EXPECT_EQ(vit.config_fields().at("dropout"), "0.25");
}

TEST(ImageClassifierMisuse, BadFieldsAndShapes) {
  Generator generator(6);
  models::VisionTransformer<float> vit(
      {.transformer = {.image_size = 8, .model_dim = 4, .num_heads = 2, .num_layers = 1}, .patch_size = 4}, generator);
  auto fields = vit.config_fields();
  fields.erase("patch_size");
  expect_error<ValueError>([&] { models::make_image_classifier<float>(fields, generator); },
                           {"'patch_size' is missing"});
  fields = vit.config_fields();
  fields["model_dim"] = "64x";
  expect_error<ValueError>([&] { models::make_image_classifier<float>(fields, generator); }, {"'model_dim'", "'64x'"});
  fields["architecture"] = "resnet";
  expect_error<ValueError>([&] { models::make_image_classifier<float>(fields, generator); }, {"'resnet'", "vit"});
  expect_error<ShapeError>(
      [&] {
        vit.forward(Tensor32::ones({2, 1, 28, 28}));
      },
      {"VisionTransformer", "(2, 1, 28, 28)", "(B, 1, 8, 8)"});
  expect_error<ValueError>([&] { models::VisionTransformer<float>({.transformer = {}, .patch_size = 5}, generator); },
                           {"image_size 28", "multiple of 5"});
  expect_error<ValueError>(
      [&] { models::ConvAttentionClassifier<float>({.transformer = {.model_dim = 30, .num_heads = 4}}, generator); },
      {"model_dim 30", "num_heads 4"});
}

}  // namespace
}  // namespace attend
