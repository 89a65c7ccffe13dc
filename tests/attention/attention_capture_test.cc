#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "attend/attention/attention_capture.h"
#include "attend/nn/multi_head_attention.h"
#include "attend/core/autograd.h"
#include "attend/models/g2p.h"
#include "attend/ops/reduction.h"
#include "harness/expect_error.h"

namespace attend {
namespace {

using nn::MultiHeadAttention;
using nn::MultiHeadAttentionConfig;
using nn::MultiHeadAttentionOptions;

bool bitwise_equal(const Tensor<float>& a, const Tensor<float>& b) {
  const std::vector<float> x = a.to_vector(), y = b.to_vector();
  return a.shape() == b.shape() && std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
}

MultiHeadAttention<float> make_attention(int64_t embed, int64_t heads, uint64_t seed) {
  Generator g(seed);
  MultiHeadAttentionConfig config;
  config.embed_dim = embed;
  config.num_heads = heads;
  return MultiHeadAttention<float>(config, g);
}

TEST(AttentionCapture, RecordsPerHeadWeightsEqualToNeedWeights) {
  auto attention = make_attention(8, 2, 3);
  attention.eval();
  attention.set_label("block.self", AttentionKind::kOther, 4);
  Generator g(7);
  const auto x = Tensor<float>::randn({2, 5, 8}, g);  // (B, N, E)
  MultiHeadAttentionOptions<float> options;
  options.causal = true;
  const Tensor<float> plain = attention.self_attention(x, options).output;  // (B, N, E)
  options.need_weights = true;
  options.average_weights = false;
  const Tensor<float> expected = attention.self_attention(x, options).weights;  // (B, H, N, M)
  options.need_weights = false;

  AttentionCapture capture;
  const Tensor<float> captured_output = attention.self_attention(x, options).output;
  EXPECT_TRUE(bitwise_equal(plain, captured_output));
  ASSERT_EQ(capture.records().size(), 1u);
  const AttentionRecord& r = capture.records()[0];
  EXPECT_EQ(r.name, "block.self");
  EXPECT_EQ(r.layer, 4);
  EXPECT_EQ(r.kind, AttentionKind::kOther);
  EXPECT_EQ((std::vector<int64_t>{r.batch, r.heads, r.rows, r.cols}), (std::vector<int64_t>{2, 2, 5, 5}));
  const std::vector<float> want = expected.to_vector();
  for (size_t k = 0; k < want.size(); ++k) EXPECT_NEAR(r.weights[k], want[k], 1e-6) << k;
}

TEST(AttentionCapture, RecordsNothingWhenInactiveAndNestsPerThread) {
  EXPECT_EQ(AttentionCapture::active(), nullptr);
  auto attention = make_attention(4, 1, 1);
  Generator g(2);
  const auto x = Tensor<float>::randn({1, 3, 4}, g);
  AttentionCapture outer;
  EXPECT_EQ(AttentionCapture::active(), &outer);
  {
    AttentionCapture inner;
    EXPECT_EQ(AttentionCapture::active(), &inner);
    attention.self_attention(x);
    EXPECT_EQ(inner.records().size(), 1u);
  }
  EXPECT_EQ(AttentionCapture::active(), &outer);
  EXPECT_TRUE(outer.records().empty());
}

TEST(AttentionCapture, AssemblesIncrementalCallsRowByRow) {
  AttentionCapture capture;
  const int decoder_self = 0, other_module = 0;  // stand-ins for two modules
  // Step t of a causal decoder: one query over t + 1 keys.
  for (int64_t t = 0; t < 3; ++t) {
    auto w = Tensor<float>::full({1, 2, 1, t + 1}, 1.0f / static_cast<float>(t + 1));  // (B, H, 1, t + 1)
    capture.add(&decoder_self, "decoder.0.self", AttentionKind::kDecoderSelf, 0, w);
  }
  ASSERT_EQ(capture.records().size(), 1u);
  const AttentionRecord& r = capture.records()[0];
  EXPECT_EQ(r.rows, 3);
  EXPECT_EQ(r.cols, 3);
  for (int64_t h = 0; h < 2; ++h) {
    EXPECT_FLOAT_EQ(r.at(0, h, 0, 0), 1.0f);
    EXPECT_FLOAT_EQ(r.at(0, h, 0, 2), 0.0f);  // padded: after the query
    EXPECT_FLOAT_EQ(r.at(0, h, 1, 1), 0.5f);
    EXPECT_FLOAT_EQ(r.at(0, h, 2, 2), 1.0f / 3);
  }
  // Another batch size (a beam search's) starts a new record of the same name.
  capture.add(&decoder_self, "decoder.0.self", AttentionKind::kDecoderSelf, 0,
              Tensor<float>::full({3, 2, 1, 4}, 0.25f));
  ASSERT_EQ(capture.records().size(), 2u);
  EXPECT_EQ(capture.find("decoder.0.self")->batch, 3);
  // Another module of the same name and shape is never merged; without a layer index it gets
  // its rank among the modules of its kind.
  capture.add(&other_module, "decoder.0.self", AttentionKind::kDecoderSelf, -1,
              Tensor<float>::full({3, 2, 1, 4}, 0.25f));
  ASSERT_EQ(capture.records().size(), 3u);
  EXPECT_EQ(capture.records()[2].layer, 1);
  expect_error<ShapeError>(
      [&] {
        capture.add(&other_module, "x", AttentionKind::kOther, -1, Tensor<float>::zeros({2, 2}));
      },
      {"'x'", "(B, H, N, M)", "(2, 2)"});
}

// The G2P Transformer of the paper-sized config, untrained: capture must see 3 + 3 + 3 maps.
struct G2PFixture {
  models::Vocabulary letters = models::letter_vocabulary(), phonemes = models::phoneme_vocabulary();
  models::G2PConfig config;
  IndexTensor source, target;

  G2PFixture() {
    source = models::pad_batch({models::encode_word(letters, "hello")});  // (1, 6)
    std::vector<int64_t> in = {models::Vocabulary::kStart};
    for (const char* p : {"HH", "AH", "L", "OW"}) in.push_back(phonemes.id(p));
    target = models::pad_batch({in});  // (1, 5)
  }
  std::unique_ptr<models::G2PTransformer<float>> model() const {
    Generator g(11);
    return std::make_unique<models::G2PTransformer<float>>(config, letters.size(), phonemes.size(), g);
  }
};

TEST(AttentionCapture, G2PForwardGivesEveryLayerHeadAndKindWithOutputsBitwiseUnchanged) {
  G2PFixture f;
  for (bool training : {false, true}) {
    auto plain = f.model(), captured = f.model();  // same seed: same weights and dropout streams
    plain->train(training);
    captured->train(training);
    const Tensor<float> expected = plain->forward(f.source, f.target);  // (1, T, V)
    sum(expected).backward();
    AttentionCapture capture;
    const Tensor<float> logits = captured->forward(f.source, f.target);
    sum(logits).backward();
    EXPECT_TRUE(bitwise_equal(expected, logits)) << "training " << training;
    const auto named_plain = plain->named_parameters(), named_captured = captured->named_parameters();
    for (size_t p = 0; p < named_plain.size(); ++p) {
      EXPECT_TRUE(bitwise_equal(named_plain[p].second.grad(), named_captured[p].second.grad())) << named_plain[p].first;
    }

    ASSERT_EQ(capture.records().size(), 9u);
    for (AttentionKind kind : {AttentionKind::kEncoderSelf, AttentionKind::kDecoderSelf, AttentionKind::kCross}) {
      const auto records = capture.records_of_kind(kind);
      ASSERT_EQ(records.size(), 3u) << attention_kind_name(kind);
      for (int64_t l = 0; l < 3; ++l) {
        const AttentionRecord& r = *records[l];
        EXPECT_EQ(r.layer, l);
        EXPECT_EQ(r.heads, 4);
        EXPECT_EQ(r.rows, kind == AttentionKind::kEncoderSelf ? 6 : 5) << r.name;
        EXPECT_EQ(r.cols, kind == AttentionKind::kDecoderSelf ? 5 : 6) << r.name;
        for (int64_t h = 0; h < r.heads; ++h) {
          for (int64_t i = 0; i < r.rows; ++i) {
            double row = 0;
            for (int64_t j = 0; j < r.cols; ++j) row += r.at(0, h, i, j);
            EXPECT_NEAR(row, 1.0, 1e-5) << r.name << " head " << h << " row " << i;
          }
        }
      }
    }
    EXPECT_NE(capture.find("decoder.2.cross"), nullptr);
    EXPECT_NE(capture.find("encoder.0.self"), nullptr);
  }
}

TEST(AttentionCapture, G2PGreedyDecodingAssemblesTheTeacherForcedMaps) {
  G2PFixture f;
  auto model = f.model();
  model->eval();
  AttentionCapture decoding;
  const std::vector<int64_t> decoded = model->greedy_decode(f.source, 6)[0];
  const auto steps = decoding.records_of_kind(AttentionKind::kCross).front()->rows;
  ASSERT_GE(steps, 1);
  // Replay the decoder inputs (<s> + what was fed back) in one teacher-forced pass.
  std::vector<int64_t> inputs = {models::Vocabulary::kStart};
  for (int64_t t = 0; t + 1 < steps; ++t) inputs.push_back(decoded[t]);
  AttentionCapture forced;
  {
    NoGradGuard no_grad;
    model->forward(f.source, models::pad_batch({inputs}));
  }
  for (const AttentionRecord& r : forced.records()) {
    const AttentionRecord* step_by_step = decoding.find(r.name);
    ASSERT_NE(step_by_step, nullptr) << r.name;
    ASSERT_EQ(step_by_step->rows, r.rows) << r.name;
    ASSERT_EQ(step_by_step->cols, r.cols) << r.name;
    for (size_t k = 0; k < r.weights.size(); ++k) EXPECT_NEAR(step_by_step->weights[k], r.weights[k], 1e-5) << r.name;
  }
}

}  // namespace
}  // namespace attend
