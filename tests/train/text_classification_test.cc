// The text-classification recipe: metrics against hand counts, and a short run end to end on
// synthetic texts (the class is whether a token occurs), with early stopping and a resume.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "attend/core/error.h"
#include "attend/core/parallel.h"
#include "attend/train/text_classification.h"
#include "harness/encodings.h"
#include "harness/expect_error.h"
#include "harness/temp_dir.h"

namespace attend::train {
namespace {

TEST(ClassificationMetrics, AccuracyMacroF1AndConfusionByHand) {
  // truth 0 0 0 1 1 2, predicted 0 0 1 1 2 2:
  //   class 0: TP 2, predicted 2, actual 3 -> F1 4/5; class 1: TP 1, 2, 2 -> 1/2; class 2: TP 1, 2, 1 -> 2/3.
  const ClassificationMetrics m = classification_metrics({0, 0, 0, 1, 1, 2}, {0, 0, 1, 1, 2, 2}, 3);
  EXPECT_DOUBLE_EQ(m.accuracy, 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(m.macro_f1, (0.8 + 0.5 + 2.0 / 3.0) / 3.0);
  EXPECT_EQ(m.confusion, (std::vector<std::vector<int64_t>>{{2, 1, 0}, {0, 1, 1}, {0, 0, 1}}));
  // A class never predicted nor present counts 0 (sklearn's zero_division=0).
  EXPECT_DOUBLE_EQ(classification_metrics({0, 1}, {0, 1}, 3).macro_f1, 2.0 / 3.0);
  expect_error<ValueError>([] { classification_metrics({0, 1}, {0}, 2); }, {"2 labels and 1 predictions"});
  expect_error<ValueError>([] { classification_metrics({0, 3}, {0, 1}, 3); }, {"item 1 has label 3"});
}

using testing::encoding_of;

EncodedSplit synthetic_split(int64_t count, uint64_t seed) {
  Generator data(seed);
  EncodedSplit split;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t length = 3 + static_cast<int64_t>(data.next_u64() % 6);
    std::vector<int64_t> ids = {1};
    const int64_t label = static_cast<int64_t>(data.next_u64() % 3);  // 0: no marker, 1: token 4, 2: token 5
    for (int64_t t = 0; t < length; ++t) ids.push_back(6 + static_cast<int64_t>(data.next_u64() % 10));
    if (label > 0) ids[1 + data.next_u64() % length] = 3 + label;
    ids.push_back(2);
    split.texts.push_back(encoding_of(ids));
    split.labels.push_back(label);
  }
  return split;
}

EncodedTexts synthetic_texts() {
  return {data::sentiment_class_names(), synthetic_split(400, 1), synthetic_split(90, 2), synthetic_split(90, 3), 0};
}

std::unique_ptr<models::TextClassifier> small_model() {
  models::TextClassifierConfig config;
  config.vocabulary = 20;
  config.embedding_dim = 16;
  config.hidden = 16;
  config.max_length = 16;
  Generator generator(5);
  return std::make_unique<models::TextClassifier>(config, generator);
}

TEST(TextClassification, LearnsSyntheticTextsAndKeepsTheBestModel) {
  testing::TempDir temp;
  const EncodedTexts data = synthetic_texts();
  auto model = small_model();
  ClassifyTrainingOptions options;
  options.steps = 150;
  options.batch_size = 16;
  options.learning_rate = 1e-2;
  options.eval_every = 50;
  options.out_dir = (temp.path() / "run").string();
  options.quiet = true;
  options.metadata = model->metadata();
  const ClassifyResult result = train_text_classifier(*model, data, options);
  EXPECT_EQ(result.steps, 150);
  EXPECT_GT(result.test.accuracy, 0.9);
  EXPECT_GT(result.dev.macro_f1, 0.9);
  EXPECT_GT(result.tokens_per_second, 0);
  std::ifstream metrics(temp.path() / "run" / "metrics.jsonl");
  std::string line, last;
  int lines = 0;
  while (std::getline(metrics, line)) {
    last = line;
    ++lines;
  }
  EXPECT_EQ(lines, 4);  // three evaluations, then the test line
  EXPECT_NE(last.find("test_macro_f1"), std::string::npos);
  // Bad counts are refused, not read as "all".
  options.steps = 0;
  expect_error<ValueError>([&] { train_text_classifier(*model, data, options); }, {"steps (0)"});
}

// The same seed and data give bitwise the same trained parameters with 1 and 2 threads, for a model
// from scratch and for a (tiny, random) BERT fine-tuned through the packed path.
TEST(TextClassification, TrainedBitsDoNotDependOnTheThreadCount) {
  const EncodedTexts data = synthetic_texts();
  for (const std::string encoder : {"transformer", "bert"}) {
    std::vector<std::vector<float>> runs[2];
    for (int threads = 1; threads <= 2; ++threads) {
      ThreadCountGuard guard(threads);
      models::TextClassifierConfig config;
      config.encoder = encoder;
      config.vocabulary = 20;
      config.embedding_dim = 16;
      config.feedforward_dim = 32;
      config.max_length = 16;
      Generator generator(5);
      std::unique_ptr<models::TextClassifier> model;
      if (encoder == "bert") {
        models::BertConfig bert;
        bert.vocab_size = 20;
        bert.hidden_size = 16;
        bert.num_layers = 1;
        bert.num_heads = 2;
        bert.intermediate_size = 32;
        bert.max_positions = 16;
        model = std::make_unique<models::TextClassifier>(
            config, std::make_shared<models::BertModel<float>>(bert, generator), generator);
      } else {
        model = std::make_unique<models::TextClassifier>(config, generator);
      }
      ClassifyTrainingOptions options;
      options.steps = 12;
      options.batch_size = 16;
      options.eval_every = 12;
      options.quiet = true;
      train_text_classifier(*model, data, options);
      for (const auto& [name, parameter] : model->named_parameters())
        runs[threads - 1].push_back(parameter.to_vector());
    }
    EXPECT_EQ(runs[0], runs[1]) << encoder;
  }
}

}  // namespace
}  // namespace attend::train
