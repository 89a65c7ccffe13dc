// G2P checkpoints whose metadata lies about the tensors they hold are refused before a model is
// built, naming the field or the tensor; what the tensors cannot reveal (the number of heads,
// when it divides model_dim) loads; and load_g2p_model reads its file once.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>

#include "attend/core/error.h"
#include "attend/core/random.h"
#include "attend/io/safetensors.h"
#include "attend/models/g2p_factory.h"
#include "harness/expect_error.h"
#include "harness/temp_dir.h"

namespace attend {
namespace {

// A two-layer pre-norm Transformer, E = 8: its true metadata, and a file saying anything else.
class G2PCheckpointTest : public ::testing::Test {
 protected:
  G2PCheckpointTest() {
    spec_.transformer = {.model_dim = 8,
                         .num_heads = 2,
                         .encoder_layers = 2,
                         .decoder_layers = 2,
                         .feedforward_dim = 16,
                         .norm_first = true};
    Generator generator(7);
    model_ = models::make_g2p_model(spec_, generator);
  }

  // The model saved with its metadata changed by `edits`, and `extra` tensors beside it.
  std::string save(const std::string& name, const io::Metadata& edits, const io::NamedTensors& extra = {}) const {
    io::Metadata metadata = models::g2p_metadata(spec_);
    for (const auto& [key, value] : edits) metadata[key] = value;
    const std::string path = (dir_ / name).string();
    io::save_module(path, *model_, extra, metadata);
    return path;
  }

  void expect_refused(const std::string& path, const std::vector<std::string>& fragments) const {
    expect_error<ValueError>([&] { models::load_g2p_model(path); }, fragments);
  }

  attend::testing::TempDir dir_;
  models::G2PModelSpec spec_;
  std::unique_ptr<models::G2PModel<float>> model_;
};

TEST_F(G2PCheckpointTest, TrueMetadataAndTrainingStateLoad) {
  EXPECT_NO_THROW(models::load_g2p_model(save("true.safetensors", {})));
  // checkpoint.safetensors: the Trainer's optimizer moments and random streams beside the model.
  const io::NamedTensors state = {{"optimizer.step", IndexTensor::scalar(3)}, {"rng.dropout", IndexTensor::zeros({9})}};
  EXPECT_NO_THROW(models::load_g2p_model(save("checkpoint.safetensors", {}, state)));
}

TEST_F(G2PCheckpointTest, SizesBeyondTheirBoundsNameTheField) {
  expect_refused(save("layers.safetensors", {{"layers", "65536"}}), {"'layers' = '65536'", "[1, 1024]"});
  expect_refused(save("heads.safetensors", {{"num_heads", "4096"}}), {"'num_heads' = '4096'", "[1, 1024]"});
  expect_refused(save("width.safetensors", {{"model_dim", "65537"}}), {"'model_dim' = '65537'", "[1, 65536]"});
  expect_refused(save("length.safetensors", {{"max_length", "100000"}}), {"'max_length' = '100000'"});
  expect_refused(save("zero.safetensors", {{"feedforward_dim", "0"}}), {"'feedforward_dim' = '0'"});
  expect_refused(save("flag.safetensors", {{"norm_first", "yes"}}), {"'norm_first' = 'yes' is not 0 or 1"});
}

// A 1,024-layer model of width 65,536 would take tens of gigabytes; the file holds a few
// thousand values, and nothing is allocated before that is found.
TEST_F(G2PCheckpointTest, AnArchitectureTheFileCannotHoldIsRefusedBeforeItIsBuilt) {
  const std::string huge =
      save("huge.safetensors", {{"layers", "1024"}, {"model_dim", "65536"}, {"feedforward_dim", "65536"}});
  expect_refused(huge, {"huge.safetensors' does not hold the model its metadata", "layers=1024", "model_dim=65536",
                        "parameters in 43016 tensors, the file", "more problems"});
  expect_refused(huge,
                 {"parameter 'letter_embedding' has shape (31, 8) in the file, the metadata implies (31, 65536)"});
}

TEST_F(G2PCheckpointTest, FewerLayersThanTheFileHoldsLeavesTensorsOver) {
  expect_refused(save("fewer.safetensors", {{"layers", "1"}}),
                 {"layers=1", "the file has tensors that are not parameters: 'encoder.1.self_attention.query.weight'"});
}

TEST_F(G2PCheckpointTest, MoreLayersThanTheFileHoldsMissesTensors) {
  expect_refused(save("more.safetensors", {{"layers", "3"}}),
                 {"layers=3", "parameter 'encoder.2.self_attention.query.weight' (8, 8) is missing"});
}

// Pre-norm models have a final norm after each stack; post-norm ones do not.
TEST_F(G2PCheckpointTest, AFlippedNormFirstShowsInTheFinalNorms) {
  expect_refused(save("post.safetensors", {{"norm_first", "0"}}),
                 {"norm_first=0", "not parameters: 'encoder_norm.weight', 'encoder_norm.bias', 'decoder_norm.weight'"});
}

TEST_F(G2PCheckpointTest, OtherSizesShowInTheShapes) {
  expect_refused(
      save("ff.safetensors", {{"feedforward_dim", "32"}}),
      {"parameter 'encoder.0.feedforward.input.weight' has shape (16, 8) in the file, the metadata implies (32, 8)"});
  expect_refused(save("gru.safetensors", {{"architecture", "gru"}, {"embedding_dim", "8"}, {"hidden_dim", "8"}}),
                 {"architecture=gru", "parameter 'letter_embedding.weight' (31, 8) is missing"});
}

TEST_F(G2PCheckpointTest, ATensorNoModelHasIsNamed) {
  expect_refused(save("stray.safetensors", {}, {{"stray", Tensor<float>::zeros({2})}}),
                 {"that model has", "not parameters: 'stray'"});
}

TEST_F(G2PCheckpointTest, AMissingTensorIsNamed) {
  io::NamedTensors tensors;
  for (const auto& [name, parameter] : model_->named_parameters()) {
    if (name != "output.bias") tensors.emplace_back(name, parameter);
  }
  const std::string path = (dir_ / "missing.safetensors").string();
  io::save_safetensors(path, tensors, models::g2p_metadata(spec_));
  expect_refused(path, {"parameter 'output.bias' (43) is missing"});
}

// The shapes of a Transformer do not depend on its number of heads: a file claiming 4 heads for
// a model trained with 2 loads (and computes something else); docs/checkpoints.md says so.
TEST_F(G2PCheckpointTest, HeadsThatDivideTheWidthCannotBeToldApart) {
  expect_refused(save("three.safetensors", {{"num_heads", "3"}}), {"model_dim 8 is not a multiple of num_heads 3"});
  EXPECT_NO_THROW(models::load_g2p_model(save("four.safetensors", {{"num_heads", "4"}})));
}

// Bytes this process has read through read(2) and friends, from /proc/self/io.
int64_t bytes_read_by_this_process() {
  std::ifstream io("/proc/self/io");
  std::string key;
  int64_t value = 0;
  while (io >> key >> value) {
    if (key == "rchar:") return value;
  }
  return -1;
}

TEST_F(G2PCheckpointTest, LoadingReadsTheFileOnce) {
  const std::string path = save("once.safetensors", {});
  const int64_t size = static_cast<int64_t>(std::filesystem::file_size(path));
  const int64_t before = bytes_read_by_this_process();
  if (before < 0) GTEST_SKIP() << "/proc/self/io is not readable here";
  models::load_g2p_model(path);
  const int64_t read = bytes_read_by_this_process() - before;
  EXPECT_GE(read, size);
  EXPECT_LT(read, size + size / 2) << "a file of " << size << " bytes took " << read << " bytes of reads";
}

}  // namespace
}  // namespace attend
