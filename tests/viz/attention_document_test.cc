#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "attend/viz/attention_document.h"
#include "attend/viz/g2p_attention.h"
#include "harness/expect_error.h"
#include "attend/models/g2p_recurrent.h"
#include "viz/tiny_g2p.h"

namespace attend::viz {
namespace {

AttentionDocument small_document() {
  AttentionCapture capture;
  const int cross = 0, self = 0;  // stand-ins for two modules
  // (B, H, N, M) = (1, 2, 2, 3): cross-attention of 2 target tokens over 3 source tokens.
  capture.add(&cross, "decoder.0.cross", AttentionKind::kCross, 0,
              Tensor<float>::from_vector({1, 2, 2, 3}, {0.5f, 0.25f, 0.25f, 0, 0, 1, 1, 0, 0, 0.2f, 0.3f, 0.5f}));
  capture.add(&self, "encoder.0.self", AttentionKind::kEncoderSelf, 0, Tensor<float>::full({1, 1, 3, 3}, 1.0f / 3));
  return make_document(capture, "toy", {"a", "b", "</s>"}, {"<s>", "X"});
}

TEST(AttentionDocument, LabelsAxesByKind) {
  const AttentionDocument doc = small_document();
  const AttentionMap& cross = doc.attentions[0];
  EXPECT_EQ(row_labels(doc, cross), (std::vector<std::string>{"<s>", "X"}));
  EXPECT_EQ(column_labels(doc, cross), (std::vector<std::string>{"a", "b", "</s>"}));
  EXPECT_EQ(row_labels(doc, doc.attentions[1]), (std::vector<std::string>{"a", "b", "</s>"}));
  AttentionMap other{"patches", AttentionKind::kOther, -1, 1, 2, 2, {1, 0, 0, 1}};
  EXPECT_EQ(column_labels(doc, other), (std::vector<std::string>{"0", "1"}));  // no tokens of that size
  EXPECT_FLOAT_EQ(cross.mean_over_heads()[0], 0.75f);
}

TEST(AttentionDocument, JsonFollowsTheSchemaAndRoundTrips) {
  const AttentionDocument doc = small_document();
  const std::string text = to_json(doc);
  const nlohmann::json json = nlohmann::json::parse(text);
  EXPECT_EQ(json["model"], "toy");
  EXPECT_EQ(json["attentions"].size(), 2u);
  EXPECT_EQ(json["attentions"][0]["kind"], "cross");
  EXPECT_EQ(json["attentions"][0]["heads"], 2);
  EXPECT_EQ(json["attentions"][0]["weights"][1][0][0], 1.0);  // head 1, row 0, column 0
  const AttentionDocument back = parse_attention_json(text);
  ASSERT_EQ(back.attentions.size(), 2u);
  EXPECT_EQ(back.attentions[0].weights, doc.attentions[0].weights);
  EXPECT_EQ(back.target_tokens, doc.target_tokens);
}

TEST(AttentionDocument, ParseNamesTheFieldThatBreaksTheSchema) {
  nlohmann::json json = nlohmann::json::parse(to_json(small_document()));
  json["attentions"][0].erase("rows");
  expect_error<ValueError>([&] { parse_attention_json(json.dump()); }, {"attentions[0]", "\"rows\""});
  json = nlohmann::json::parse(to_json(small_document()));
  json["attentions"][1]["kind"] = "sideways";
  expect_error<ValueError>([&] { parse_attention_json(json.dump()); }, {"'sideways'", "encoder_self"});
  json = nlohmann::json::parse(to_json(small_document()));
  json["attentions"][0]["weights"][0][1][2] = 1.5;
  expect_error<ValueError>([&] { parse_attention_json(json.dump()); }, {"head 0 row 1", "1.5"});
  expect_error<ValueError>([&] { parse_attention_json("{\"model\": "); }, {"not valid JSON"});
}

TEST(AttentionDocument, G2PCaptureLabelsLettersAndPhonemes) {
  Generator g(5);
  models::G2PTransformer<float> model(tiny_g2p_config(8), models::letter_vocabulary().size(),
                                      models::phoneme_vocabulary().size(), g);
  const AttentionDocument doc = capture_g2p_attention(model, "Cat");
  EXPECT_EQ(doc.source_tokens, (std::vector<std::string>{"c", "a", "t", "</s>"}));
  EXPECT_EQ(doc.target_tokens.front(), "<s>");
  EXPECT_EQ(doc.target_tokens.size(), doc.predicted_tokens.size());
  ASSERT_EQ(doc.attentions.size(), 6u);
  for (const AttentionMap* cross : doc.of_kind(AttentionKind::kCross)) {
    EXPECT_EQ(cross->rows, static_cast<int64_t>(doc.target_tokens.size()));
    EXPECT_EQ(cross->cols, 4);
  }
  expect_error<ValueError>([&] { capture_g2p_attention(model, "c4t"); }, {"'4'", "outside the vocabulary"});
}

// A variational recurrent model shows its prior ("decoder.attention") and its inference network's
// posterior given the decoded phonemes ("decoder.posterior") with the same rows and columns; each
// row a distribution over the letters. The alignment drawn by write_g2p_alignment is the prior.
TEST(AttentionDocument, AVariationalG2PShowsPriorAndPosterior) {
  Generator g(6);
  models::G2PRecurrent<float> model(
      {.embedding_dim = 4, .hidden_dim = 6, .max_length = 8, .alignment = models::AlignmentTraining::kVariationalEnum},
      models::letter_vocabulary().size(), models::phoneme_vocabulary().size(), g);
  const AttentionDocument doc = capture_g2p_attention(model, "dog");
  const std::vector<const AttentionMap*> cross = doc.of_kind(AttentionKind::kCross);
  ASSERT_EQ(cross.size(), 2u);
  EXPECT_EQ(cross[0]->name, "decoder.attention");
  EXPECT_EQ(cross[1]->name, "decoder.posterior");
  EXPECT_EQ(decoder_alignment(doc), cross[0]);
  for (const AttentionMap* map : cross) {
    EXPECT_EQ(map->rows, static_cast<int64_t>(doc.target_tokens.size()));
    EXPECT_EQ(map->cols, 4);
    for (int64_t r = 0; r < map->rows; ++r) {
      float total = 0;
      for (int64_t c = 0; c < map->cols; ++c) total += map->weights[r * map->cols + c];
      EXPECT_NEAR(total, 1.0f, 1e-5) << map->name << " row " << r;
    }
  }
  EXPECT_NE(cross[0]->weights, cross[1]->weights);
}

}  // namespace
}  // namespace attend::viz
