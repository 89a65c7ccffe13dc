// Image classifier checkpoints whose metadata lies about the tensors they hold are refused before
// a model is built, naming the file and the field or the tensor; true ones load, training state
// and all.
#include <gtest/gtest.h>

#include <string>

#include "attend/core/error.h"
#include "attend/core/random.h"
#include "attend/io/safetensors.h"
#include "attend/models/image_classifier_factory.h"
#include "harness/expect_error.h"
#include "harness/temp_dir.h"

namespace attend {
namespace {

// A ViT with 7 x 7 patches of 28 x 28 images, E = 8, one layer.
class ImageClassifierCheckpointTest : public ::testing::Test {
 protected:
  ImageClassifierCheckpointTest() {
    models::VisionTransformerConfig config;
    config.transformer.model_dim = 8;
    config.transformer.num_heads = 2;
    config.transformer.num_layers = 1;
    config.patch_size = 7;
    Generator generator(11);
    model_ = std::make_unique<models::VisionTransformer<float>>(config, generator);
  }

  std::string save(const std::string& name, const io::Metadata& edits, const io::NamedTensors& extra = {}) const {
    io::Metadata metadata = model_->config_fields();
    metadata["task"] = "fashion-mnist";
    for (const auto& [key, value] : edits) metadata[key] = value;
    const std::string path = (dir_ / name).string();
    io::save_module(path, *model_, extra, metadata);
    return path;
  }

  void expect_refused(const std::string& path, const std::vector<std::string>& fragments) const {
    expect_error<ValueError>([&] { models::load_image_classifier(path); }, fragments);
  }

  attend::testing::TempDir dir_;
  std::unique_ptr<models::VisionTransformer<float>> model_;
};

TEST_F(ImageClassifierCheckpointTest, TrueMetadataLoadsTheSameModel) {
  const auto loaded =
      models::load_image_classifier(save("true.safetensors", {}, {{"optimizer.step", IndexTensor::scalar(1)}}));
  EXPECT_FALSE(loaded->is_training());
  Generator generator(12);
  const Tensor<float> images = Tensor<float>::uniform({2, 1, 28, 28}, 0, 1, generator);
  model_->eval();
  EXPECT_EQ(loaded->forward(images).to_vector(), model_->forward(images).to_vector());
}

TEST_F(ImageClassifierCheckpointTest, FieldsBeyondTheirBoundsNameTheFileAndTheField) {
  expect_refused(save("layers.safetensors", {{"num_layers", "65536"}}),
                 {"layers.safetensors", "field 'num_layers' = '65536' is not an integer in [0, 1024]"});
  expect_refused(save("image.safetensors", {{"image_size", "1048576"}}), {"field 'image_size' = '1048576'"});
  expect_refused(save("patch.safetensors", {{"patch_size", "5"}}),
                 {"patch.safetensors", "image_size 28 must be a positive multiple of 5"});
  expect_refused(save("heads.safetensors", {{"num_heads", "3"}}),
                 {"model_dim 8 must be a positive multiple of num_heads 3"});
}

TEST_F(ImageClassifierCheckpointTest, AnArchitectureTheFileCannotHoldIsRefusedBeforeItIsBuilt) {
  expect_refused(
      save("huge.safetensors", {{"num_layers", "1024"}, {"model_dim", "65536"}, {"feedforward_dim", "65536"}}),
      {"huge.safetensors' does not hold the model its metadata (architecture=vit", "num_layers=1024", "that model has",
       "parameter 'patches.projection.weight' has shape (8, 49) in the file, the metadata "
       "implies (65536, 49)"});
}

TEST_F(ImageClassifierCheckpointTest, MetadataThatDisagreesWithTheTensorsNamesThem) {
  expect_refused(save("more.safetensors", {{"num_layers", "2"}}),
                 {"num_layers=2", "parameter 'trunk.layers.1.self_attention.query.weight' (8, 8) is missing"});
  expect_refused(save("fewer.safetensors", {{"num_layers", "0"}}),
                 {"num_layers=0", "not parameters: 'trunk.layers.0.self_attention.query.weight'"});
  expect_refused(
      save("patch.safetensors", {{"patch_size", "4"}}),
      {"patch_size=4", "'patches.projection.weight' has shape (8, 49) in the file, the metadata implies (8, 16)"});
  expect_refused(save("classes.safetensors", {{"num_classes", "12"}}), {"'trunk.head.bias' has shape (10)"});
  expect_refused(save("conv.safetensors", {{"architecture", "conv-attention"}, {"stem_channels", "4"}}),
                 {"architecture=conv-attention", "parameter 'conv1.weight' (4, 1, 3, 3) is missing",
                  "not parameters: 'patches.projection.weight'"});
  expect_refused(save("stray.safetensors", {}, {{"stray", Tensor<float>::zeros({1})}}), {"not parameters: 'stray'"});
}

}  // namespace
}  // namespace attend
