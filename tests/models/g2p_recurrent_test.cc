// G2PRecurrent (models/g2p_recurrent.h): shapes, finite-difference gradients of every parameter,
// the attention weights, padding invariance, greedy decoding against the teacher-forced logits,
// beam search of size 1 against greedy, and a round trip through the factory's checkpoint.
#include "attend/models/g2p_recurrent.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "attend/models/g2p_factory.h"
#include "harness/expect_error.h"
#include "harness/module_gradcheck.h"
#include "harness/temp_dir.h"

namespace attend {
namespace {

using models::G2PRecurrent;
using models::G2PRecurrentConfig;
using models::Vocabulary;

const Vocabulary kLetters = models::letter_vocabulary();
const Vocabulary kPhonemes = models::phoneme_vocabulary();

G2PRecurrentConfig tiny_config(double dropout = 0.0) {
  return {.embedding_dim = 3, .hidden_dim = 4, .dropout = dropout, .max_length = 12};
}

template <typename T>
std::unique_ptr<G2PRecurrent<T>> tiny_model(uint64_t seed = 3, double dropout = 0.0) {
  Generator generator(seed);
  return std::make_unique<G2PRecurrent<T>>(tiny_config(dropout), kLetters.size(), kPhonemes.size(), generator);
}

IndexTensor words(const std::vector<std::string>& list) {  // (B, S), letters + </s>, padded
  std::vector<std::vector<int64_t>> ids;
  for (const auto& word : list) ids.push_back(models::encode_word(kLetters, word));
  return models::pad_batch(ids);
}

// <s> + the given phonemes, padded: (B, T).
IndexTensor targets(const std::vector<std::vector<std::string>>& list) {
  std::vector<std::vector<int64_t>> ids;
  for (const auto& phonemes : list) {
    ids.push_back({Vocabulary::kStart});
    for (const auto& p : phonemes) ids.back().push_back(kPhonemes.id(p));
  }
  return models::pad_batch(ids);
}

// The next-symbol targets of targets(): the input shifted left, </s> where the input ends.
IndexTensor shifted(const IndexTensor& target_in) {
  IndexTensor out = IndexTensor::full(target_in.shape(), Vocabulary::kPad);
  const int64_t batch = target_in.size(0), steps = target_in.size(1);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t t = 0; t < steps && target_in.at({b, t}) != Vocabulary::kPad; ++t) {
      const bool last = t + 1 == steps || target_in.at({b, t + 1}) == Vocabulary::kPad;
      out.data()[b * steps + t] = last ? Vocabulary::kEnd : target_in.at({b, t + 1});
    }
  }
  return out;
}

TEST(G2PRecurrent, ShapesAndParameters) {
  auto model = tiny_model<float>();
  const IndexTensor source = words({"cat", "hello"});                                  // (2, 6)
  const IndexTensor target_in = targets({{"K", "AE", "T"}, {"HH", "AH", "L", "OW"}});  // (2, 5)
  const auto out = model->forward_with_attention(source, target_in);
  EXPECT_EQ(out.logits.shape(), Shape({2, 5, kPhonemes.size()}));
  EXPECT_EQ(out.attention.shape(), Shape({2, 5, 6}));
  EXPECT_EQ(model->forward(source, target_in).shape(), Shape({2, 5, kPhonemes.size()}));
  const int64_t e = 3, h = 4, v = kPhonemes.size();
  const int64_t expected = kLetters.size() * e + v * e                    // embeddings
                           + 2 * (3 * h * e + 3 * h * h + 2 * 3 * h)      // encoder, two directions
                           + 2 * h * h + h                                // bridge
                           + h * h + 2 * h * h + h                        // W, U, v
                           + 3 * h * (e + 2 * h) + 3 * h * h + 2 * 3 * h  // decoder cell
                           + 3 * h * v + v;                               // output
  EXPECT_EQ(model->parameter_count(), expected);
  std::vector<std::string> names;
  for (const auto& [name, p] : model->named_parameters()) names.push_back(name);
  for (const char* name :
       {"encoder.weight_hh_l0_reverse", "attention.key_weight", "decoder.weight_ih", "bridge.weight"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
}

TEST(G2PRecurrent, GradientsOfEveryParameter) {
  auto model = tiny_model<double>();
  const IndexTensor source = words({"ab", "cde"});
  const IndexTensor target_in = targets({{"AA", "B"}, {"K", "D", "IY"}});
  const IndexTensor target_out = shifted(target_in);
  const auto loss = [&] {
    return cross_entropy(model->forward(source, target_in), target_out, {.ignore_index = Vocabulary::kPad});
  };
  EXPECT_EQ(testing::check_parameter_gradients(*model, loss, 1e-6, 24), "");
}

TEST(G2PRecurrent, AttentionSumsToOneAndSkipsPadding) {
  auto model = tiny_model<double>();
  const IndexTensor source = words({"a", "abcdef"});  // row 0: 2 letters then 5 pads
  const auto out = model->forward_with_attention(source, targets({{"AH"}, {"AE", "B", "K"}}));
  const int64_t steps = out.attention.size(1), letters = out.attention.size(2);
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t t = 0; t < steps; ++t) {
      double total = 0;
      for (int64_t j = 0; j < letters; ++j) {
        const double a = out.attention.at({b, t, j});
        if (source.at({b, j}) == Vocabulary::kPad) {
          EXPECT_EQ(a, 0.0) << b << " " << t << " " << j;
        }
        total += a;
      }
      EXPECT_NEAR(total, 1.0, 1e-12) << b << " " << t;
    }
  }
}

TEST(G2PRecurrent, ALongerNeighbourDoesNotChangeAWordsLogits) {
  auto model = tiny_model<double>();
  model->eval();
  const std::vector<std::string> cat = {"K", "AE", "T"};
  const Tensor64 alone = model->forward(words({"cat"}), targets({cat}));  // (1, 4, V)
  const Tensor64 batched =
      model->forward(words({"cat", "pronunciation"}), targets({cat, {"P", "R", "OW", "N", "AH", "N", "S"}}));
  const int64_t v = kPhonemes.size();
  for (int64_t t = 0; t < 4; ++t) {
    for (int64_t k = 0; k < v; ++k) EXPECT_NEAR(alone.at({0, t, k}), batched.at({0, t, k}), 1e-12) << t << " " << k;
  }
}

TEST(G2PRecurrent, GreedyIsTheArgmaxOfTeacherForcedLogitsOnItsOwnOutputs) {
  auto model = tiny_model<double>(5, /*dropout=*/0.3);  // decoding must switch dropout off
  const IndexTensor source = words({"cat", "hello", "a"});
  const int64_t max_steps = 6;
  const auto decoded = model->greedy_decode(source, max_steps);
  ASSERT_EQ(decoded.size(), 3u);
  EXPECT_TRUE(model->is_training());  // restored
  model->eval();
  for (int64_t b = 0; b < 3; ++b) {
    const std::vector<int64_t>& y = decoded[b];
    const bool finished = static_cast<int64_t>(y.size()) < max_steps;
    std::vector<int64_t> fed = {Vocabulary::kStart};
    fed.insert(fed.end(), y.begin(), y.end() - (finished ? 0 : 1));
    const Tensor64 logits = model->forward(source.slice(0, b, b + 1).contiguous(),
                                           IndexTensor::from_vector({1, static_cast<int64_t>(fed.size())}, fed));
    const int64_t v = logits.size(2);
    for (int64_t t = 0; t < logits.size(1); ++t) {
      const double* row = logits.data() + t * v;
      const int64_t expected = t < static_cast<int64_t>(y.size()) ? y[t] : Vocabulary::kEnd;
      EXPECT_EQ(std::max_element(row, row + v) - row, expected) << "word " << b << " step " << t;
    }
  }
}

TEST(G2PRecurrent, BeamOfOneIsGreedy) {
  auto model = tiny_model<double>(7);
  {
    // Beam search never emits <pad>, <s> or <unk>; make greedy never want them either.
    NoGradGuard no_grad;
    for (auto& [name, p] : model->named_parameters()) {
      if (name != "output.bias") continue;
      for (int64_t id : {Vocabulary::kPad, Vocabulary::kStart, Vocabulary::kUnknown}) p.data()[id] = -100;
    }
  }
  for (const std::string word : {"cat", "hello", "x", "attention"}) {
    const IndexTensor source = words({word});
    const auto greedy = model->greedy_decode(source, 10)[0];
    EXPECT_EQ(model->beam_search(source, 1, 10), greedy) << word;
    EXPECT_LE(model->beam_search(source, 3, 10).size(), 10u) << word;
  }
}

TEST(G2PRecurrent, FactoryRoundTrip) {
  models::G2PModelSpec spec;
  spec.architecture = "gru";
  spec.recurrent = {.embedding_dim = 5, .hidden_dim = 6, .dropout = 0.25, .max_length = 20};
  Generator generator(11);
  auto model = models::make_g2p_model(spec, generator);
  model->eval();
  const attend::testing::TempDir temp;
  const auto path = temp / "round_trip.safetensors";
  io::save_module(path.string(), *model, {}, models::g2p_metadata(spec),
                  /*overwrite=*/true);

  const models::G2PModelSpec read = models::g2p_spec_from_metadata(io::load_safetensors(path.string()).metadata(), "x");
  EXPECT_EQ(read.architecture, "gru");
  EXPECT_EQ(read.recurrent.embedding_dim, 5);
  EXPECT_EQ(read.recurrent.hidden_dim, 6);
  EXPECT_EQ(read.recurrent.max_length, 20);
  EXPECT_EQ(read.recurrent.dropout, 0.25);
  auto loaded = models::load_g2p_model(path.string());
  EXPECT_NE(dynamic_cast<G2PRecurrent<float>*>(loaded.get()), nullptr);
  EXPECT_EQ(loaded->max_length(), 20);
  const IndexTensor source = words({"round", "trip"});
  const IndexTensor target_in = targets({{"R", "AW"}, {"T", "R", "IH", "P"}});
  EXPECT_EQ(loaded->forward(source, target_in).to_vector(), model->forward(source, target_in).to_vector());
  EXPECT_EQ(loaded->greedy_decode(source, 8), model->greedy_decode(source, 8));
}

TEST(G2PFactory, TransformerMetadataWithoutArchitectureStillReads) {
  models::G2PModelSpec spec;
  io::Metadata metadata = models::g2p_metadata(spec);
  metadata.erase("architecture");
  const models::G2PModelSpec read = models::g2p_spec_from_metadata(metadata, "old.safetensors");
  EXPECT_EQ(read.architecture, "transformer");
  EXPECT_EQ(read.transformer.model_dim, spec.transformer.model_dim);
  EXPECT_EQ(read.transformer.encoder_layers, spec.transformer.encoder_layers);
}

TEST(G2PFactoryMisuse, UnknownArchitectureIsNamed) {
  io::Metadata metadata = {{"task", "g2p"}, {"architecture", "lstm"}};
  expect_error<ValueError>([&] { models::g2p_spec_from_metadata(metadata, "m.safetensors"); },
                           {"m.safetensors", "'lstm'", "transformer, gru"});
}

TEST(G2PFactoryMisuse, GruMetadataWithoutHiddenDim) {
  io::Metadata metadata = {{"task", "g2p"}, {"architecture", "gru"}, {"embedding_dim", "8"}, {"max_length", "9"}};
  expect_error<ValueError>([&] { models::g2p_spec_from_metadata(metadata, "m.safetensors"); },
                           {"m.safetensors", "hidden_dim"});
}

TEST(G2PRecurrentMisuse, TargetOfAnotherBatch) {
  auto model = tiny_model<float>();
  expect_error<ShapeError>(
      [&] {
        model->forward(words({"a", "b"}), targets({{"AH"}}));
      },
      {"G2PRecurrent", "(1, 2)", "(2, 2)"});
}

TEST(G2PRecurrentMisuse, BeamSearchOfTwoWords) {
  auto model = tiny_model<float>();
  expect_error<ShapeError>([&] { model->beam_search(words({"a", "b"}), 2, 5); }, {"beam_search", "(1, S)", "(2, 2)"});
}

}  // namespace
}  // namespace attend
