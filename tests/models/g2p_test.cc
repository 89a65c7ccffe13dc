// The G2P Transformer: shapes, incremental decoding equal to teacher forcing, beam search of
// width 1 equal to greedy, padding invariance, and the factory's checkpoint round trip.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "attend/core/error.h"
#include "attend/core/random.h"
#include "attend/io/safetensors.h"
#include "attend/models/g2p.h"
#include "attend/models/g2p_factory.h"
#include "harness/expect_error.h"
#include "harness/temp_dir.h"

namespace attend {
namespace {

using models::G2PConfig;
using models::G2PTransformer;
using models::Vocabulary;

G2PConfig tiny_config() {
  G2PConfig c;
  c.model_dim = 16;
  c.num_heads = 2;
  c.encoder_layers = c.decoder_layers = 2;
  c.feedforward_dim = 32;
  c.dropout = 0.1;
  c.max_length = 20;
  return c;
}

std::unique_ptr<G2PTransformer<float>> tiny_model(uint64_t seed = 3) {
  Generator generator(seed);
  const auto letters = models::letter_vocabulary(), phonemes = models::phoneme_vocabulary();
  auto model = std::make_unique<G2PTransformer<float>>(tiny_config(), letters.size(), phonemes.size(), generator);
  model->eval();
  return model;
}

IndexTensor word(const std::string& text) {
  return models::pad_batch({models::encode_word(models::letter_vocabulary(), text)});
}

TEST(G2PTransformer, ForwardShapes) {
  auto model = tiny_model();
  const auto letters = models::letter_vocabulary();
  const IndexTensor source =
      models::pad_batch({models::encode_word(letters, "cat"), models::encode_word(letters, "house")});
  const IndexTensor target = models::pad_batch({{Vocabulary::kStart, 5, 6}, {Vocabulary::kStart, 7}});
  const Tensor<float> logits = model->forward(source, target);
  EXPECT_EQ(logits.shape(), (Shape{2, 3, models::phoneme_vocabulary().size()}));
  expect_error<ShapeError>([&] { model->forward(source, models::pad_batch({{1, 2}})); }, {"target", "batch"});
}

// Greedy decoding with the key/value cache must pick, at every step, the argmax of the
// teacher-forced logits given its own earlier outputs.
TEST(G2PTransformer, GreedyDecodingMatchesTeacherForcing) {
  auto model = tiny_model();
  const IndexTensor source = word("attention");
  const std::vector<int64_t> decoded = model->greedy_decode(source, 8)[0];
  ASSERT_FALSE(decoded.empty());
  std::vector<int64_t> prefix = {Vocabulary::kStart};
  for (size_t t = 0; t < decoded.size(); ++t) {
    const Tensor<float> logits = model->forward(source, models::pad_batch({prefix}));  // (1, t + 1, V)
    const int64_t vocab = logits.size(2);
    const float* last = logits.data() + static_cast<int64_t>(t) * vocab;
    EXPECT_EQ(std::max_element(last, last + vocab) - last, decoded[t]) << "step " << t;
    prefix.push_back(decoded[t]);
  }
}

// Beam search never extends a hypothesis with <pad>, <s> or <unk>; an untrained model's greedy
// decoding may pick them, so only decodings free of them are compared (at least three).
TEST(G2PTransformer, BeamOfOneIsGreedy) {
  int compared = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    auto model = tiny_model(seed);
    for (const std::string w : {"a", "queue", "pronunciation"}) {
      const std::vector<int64_t> greedy = model->greedy_decode(word(w), 10)[0];
      if (std::any_of(greedy.begin(), greedy.end(), [](int64_t id) { return id <= Vocabulary::kUnknown; })) continue;
      EXPECT_EQ(model->beam_search(word(w), 1, 10), greedy) << w << " seed " << seed;
      ++compared;
    }
  }
  EXPECT_GE(compared, 3);
}

TEST(G2PTransformer, PaddingDoesNotChangeAWordsDecoding) {
  auto model = tiny_model(5);
  const auto letters = models::letter_vocabulary();
  const IndexTensor batch =
      models::pad_batch({models::encode_word(letters, "ox"), models::encode_word(letters, "extraordinary")});
  const auto together = model->greedy_decode(batch, 10);
  EXPECT_EQ(together[0], model->greedy_decode(word("ox"), 10)[0]);
  EXPECT_EQ(together[1], model->greedy_decode(word("extraordinary"), 10)[0]);
}

TEST(G2PFactory, MetadataRoundTripAndErrors) {
  models::G2PModelSpec spec;
  spec.transformer = tiny_config();
  const io::Metadata metadata = models::g2p_metadata(spec);
  EXPECT_EQ(metadata.at("task"), "g2p");
  EXPECT_EQ(metadata.at("architecture"), "transformer");
  const models::G2PModelSpec back = models::g2p_spec_from_metadata(metadata, "f");
  EXPECT_EQ(back.transformer.model_dim, 16);
  EXPECT_EQ(back.transformer.decoder_layers, 2);
  EXPECT_EQ(back.transformer.max_length, 20);

  io::Metadata legacy = metadata;  // files written before "architecture" existed
  legacy.erase("architecture");
  EXPECT_EQ(models::g2p_spec_from_metadata(legacy, "f").architecture, "transformer");

  io::Metadata broken = metadata;
  broken["num_heads"] = "3";
  expect_error<ValueError>([&] { models::g2p_spec_from_metadata(broken, "x.safetensors"); },
                           {"x.safetensors", "num_heads 3"});
  broken = metadata;
  broken["model_dim"] = "sixteen";
  expect_error<ValueError>([&] { models::g2p_spec_from_metadata(broken, "x.safetensors"); }, {"model_dim", "sixteen"});
  broken = metadata;
  broken["architecture"] = "lstm9";
  expect_error<ValueError>([&] { models::g2p_spec_from_metadata(broken, "x.safetensors"); }, {"architecture", "lstm9"});
  expect_error<ValueError>(
      [&] {
        models::g2p_spec_from_metadata({{"task", "fashion-mnist"}}, "y");
      },
      {"'y'", "not a G2P"});
  expect_error<ValueError>([&] { models::load_g2p_model("/nonexistent/model.safetensors"); }, {"does not exist"});
}

TEST(G2PFactory, LoadedModelDecodesLikeTheSavedOne) {
  models::G2PModelSpec spec;
  spec.transformer = tiny_config();
  Generator generator(21);
  auto model = models::make_g2p_model(spec, generator);
  model->eval();
  const attend::testing::TempDir temp;
  const std::string path = (temp / "g2p_factory.safetensors").string();
  io::save_module(path, *model, {}, models::g2p_metadata(spec), /*overwrite=*/true);
  auto loaded = models::load_g2p_model(path);
  EXPECT_FALSE(loaded->is_training());
  const IndexTensor source = word("checkpoint");
  const IndexTensor target = models::pad_batch({{Vocabulary::kStart, 9, 10, 11}});
  EXPECT_EQ(loaded->forward(source, target).to_vector(), model->forward(source, target).to_vector());
}

}  // namespace
}  // namespace attend
