// Text classifiers: every encoder x pooling runs, a text's logits do not depend on its batch,
// gradients reach every parameter, a tiny task is learned, and the metadata round-trips.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/io/safetensors.h"
#include "attend/models/text_classifier.h"
#include "attend/ops/loss.h"
#include "attend/text/vocabulary.h"
#include "attend/train/optimizer.h"
#include "harness/encodings.h"
#include "harness/expect_error.h"
#include "harness/temp_dir.h"
#include "attend/models/bert_gguf.h"

namespace attend::models {
namespace {

using testing::encoding_of;

// The 20 tokens of the small models' vocabulary, and the tiny BERT's config.json.
std::string small_vocabulary(int tokens = 20) {
  std::string text = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
  for (int i = 5; i < tokens; ++i) text += std::string(1, static_cast<char>('a' + i - 5)) + "\n";
  return text;
}

constexpr char kTinyBertConfig[] =
    R"({"model_type": "bert", "vocab_size": 20, "hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2,
        "intermediate_size": 16, "max_position_embeddings": 16})";

TextClassifierConfig small(const std::string& encoder, const std::string& pooling) {
  TextClassifierConfig c;
  c.vocabulary_text = small_vocabulary();
  c.tokenizer_config_text = R"({"do_lower_case": true})";
  if (encoder == "bert") c.bert_config_text = kTinyBertConfig;
  c.encoder = encoder;
  c.pooling = pooling;
  c.vocabulary = 20;
  c.embedding_dim = 8;
  c.hidden = 6;
  c.layers = 2;
  c.heads = 2;
  c.feedforward_dim = 16;
  c.max_length = 12;
  c.dropout = 0.1;
  return c;
}

std::shared_ptr<BertModel<float>> tiny_bert(Generator& generator) {
  return std::make_shared<BertModel<float>>(parse_bert_config(kTinyBertConfig, "tiny"), generator);
}

std::unique_ptr<TextClassifier> make(const std::string& encoder, const std::string& pooling, uint64_t seed = 1) {
  Generator generator(seed);
  if (encoder == "bert") {
    return std::make_unique<TextClassifier>(small(encoder, pooling), tiny_bert(generator), generator);
  }
  return std::make_unique<TextClassifier>(small(encoder, pooling), generator);
}

const std::vector<std::string> kEncoders = {"gru", "transformer", "bert"};
const std::vector<std::string> kPoolings = {"attention", "mean", "cls"};

TEST(TextClassifier, ATextsLogitsDoNotDependOnItsBatch) {
  for (const auto& encoder : kEncoders) {
    for (const auto& pooling : kPoolings) {
      auto model = make(encoder, pooling);
      model->eval();
      NoGradGuard no_grad;
      const text::Encoding short_text = encoding_of({1, 5, 7, 2}), long_text = encoding_of({1, 3, 4, 9, 9, 8, 6, 2});
      const TextClassification alone = model->forward({short_text});
      const TextClassification together = model->forward({long_text, short_text, long_text});
      ASSERT_EQ(together.logits.shape(), (Shape{3, 3}));
      for (int64_t c = 0; c < 3; ++c) {
        EXPECT_NEAR(alone.logits.at({0, c}), together.logits.at({1, c}), 1e-5) << encoder << " " << pooling;
      }
      if (pooling == "attention") {
        EXPECT_EQ(together.weights.shape(), (Shape{3, 8}));
        for (int64_t t = 4; t < 8; ++t) EXPECT_EQ(together.weights.at({1, t}), 0.0f);  // padding
      }
    }
  }
}

TEST(TextClassifier, GradientsReachEveryParameter) {
  for (const auto& encoder : kEncoders) {
    for (const auto& pooling : kPoolings) {
      auto model = make(encoder, pooling);
      model->train();
      const TextClassification out = model->forward({encoding_of({1, 5, 7, 2}), encoding_of({1, 3, 2})});
      const Tensor<float> loss = cross_entropy(out.logits, IndexTensor::from_vector({2}, {0, 2}));
      loss.backward();
      for (const auto& [name, parameter] : model->named_parameters()) {
        // BERT's pooler (tanh of [CLS] W_p) is not used: the pooling here replaces it.
        if (name.rfind("bert.pooler.", 0) == 0) continue;
        EXPECT_TRUE(parameter.grad().defined()) << encoder << " " << pooling << ": " << name;
      }
    }
  }
}

// Class = whether token 5 occurs: each from-scratch model learns it in a few dozen steps.
TEST(TextClassifier, LearnsATinyTask) {
  for (const auto& encoder : {std::string("gru"), std::string("transformer")}) {
    auto model = make(encoder, "attention", 3);
    train::AdamWOptions options;
    options.learning_rate = 1e-2;
    options.weight_decay_applies = train::decays_unless_bias_or_norm;
    train::AdamW<float> optimizer(model->named_parameters(), options);
    Generator data(7);
    const auto batch = [&](std::vector<text::Encoding>& texts, std::vector<int64_t>& labels) {
      texts.clear();
      labels.clear();
      for (int i = 0; i < 16; ++i) {
        const int64_t length = 3 + static_cast<int64_t>(data.next_u64() % 6);
        std::vector<int64_t> ids = {1};
        const bool positive = data.next_u64() % 2 == 0;
        for (int64_t t = 0; t < length; ++t) ids.push_back(6 + static_cast<int64_t>(data.next_u64() % 10));
        if (positive) ids[1 + data.next_u64() % length] = 5;
        ids.push_back(2);
        texts.push_back(encoding_of(ids));
        labels.push_back(positive ? 1 : 0);
      }
    };
    std::vector<text::Encoding> texts;
    std::vector<int64_t> labels;
    for (int step = 0; step < 120; ++step) {
      batch(texts, labels);
      const Tensor<float> loss = cross_entropy(model->forward(texts).logits, IndexTensor::from_vector({16}, labels));
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
    }
    model->eval();
    NoGradGuard no_grad;
    int correct = 0;
    for (int round = 0; round < 4; ++round) {
      batch(texts, labels);
      const Tensor<float> logits = model->forward(texts).logits;
      for (int i = 0; i < 16; ++i) correct += (logits.at({i, 1}) > logits.at({i, 0})) == (labels[i] == 1);
    }
    EXPECT_GE(correct, 58) << encoder << ": " << correct << " of 64";
  }
}

TEST(TextClassifier, MetadataRoundTripsAndBadConfigsAreRefused) {
  auto model = make("transformer", "mean");
  const TextClassifierConfig back = text_classifier_config_of(model->metadata(), "m.safetensors");
  EXPECT_EQ(back.encoder, "transformer");
  EXPECT_EQ(back.pooling, "mean");
  EXPECT_EQ(back.max_length, 12);
  EXPECT_EQ(back.feedforward_dim, 16);
  expect_error<ValueError>(
      [] {
        text_classifier_config_of({{"task", "g2p"}}, "g.safetensors");
      },
      {"'g.safetensors' is not a text classifier", "g2p"});
  // A number in the metadata is one whole number in range, or the checkpoint is refused naming
  // the key (std::stod's own "stod" exception, or "0.1abc" read as 0.1, before).
  for (const auto& [key, text] :
       std::vector<std::pair<std::string, std::string>>{{"classify.dropout", "abc"},
                                                        {"classify.dropout", "0.1abc"},
                                                        {"classify.dropout", "nan"},
                                                        {"classify.hidden", " 4"},
                                                        {"classify.vocabulary", "99999999999"}}) {
    io::Metadata metadata = model->metadata();
    metadata[key] = text;
    expect_error<ValueError>([&] { text_classifier_config_of(metadata, "m.safetensors"); },
                             {"'m.safetensors': metadata '" + key + "' = '" + text + "' is not"});
  }
  Generator generator(1);
  TextClassifierConfig bad = small("lstm", "mean");
  expect_error<ValueError>([&] { TextClassifier(bad, generator); }, {"unknown encoder 'lstm'"});
  bad = small("gru", "max");
  expect_error<ValueError>([&] { TextClassifier(bad, generator); }, {"unknown pooling 'max'"});
  bad = small("gru", "mean");
  bad.hidden = 0;
  expect_error<ValueError>([&] { TextClassifier(bad, generator); }, {"hidden must be at least 1, got 0"});
  auto ok = make("gru", "cls");
  expect_error<ValueError>([&] { ok->forward({encoding_of(std::vector<int64_t>(13, 3))}); }, {"13 tokens", "1 to 12"});
  expect_error<ValueError>([&] { ok->forward({}); }, {"empty batch"});
}

// A small checkpoint whose metadata claims a huge model is refused before the model is built
// (it would have allocated 2^24 x 4,096 floats, 256 GiB, from a file of a few KB).
TEST(TextClassifier, CheckpointClaimingAHugeModelIsRefusedBeforeAllocating) {
  testing::TempDir dir;
  for (const std::string encoder : {"gru", "transformer"}) {
    auto model = make(encoder, "mean");
    io::Metadata metadata = model->metadata();
    metadata["classify.vocabulary"] = std::to_string(1 << 24);
    metadata["classify.embedding_dim"] = "4096";
    const std::string path = dir.file(encoder + ".safetensors");
    io::save_module(path, *model, {}, metadata);
    expect_error<ValueError>(
        [&] { load_text_classifier(io::load_safetensors(path)); },
        {"does not hold the text classifier its metadata describes", "'embedding.weight' (16777216, 4096)"});
    io::save_module(path, *model, {}, model->metadata(), true);
    EXPECT_NO_THROW(load_text_classifier(io::load_safetensors(path))) << encoder;
  }
}

// A checkpoint holds its tokenizer and (bert) its encoder's architecture: loaded with nothing else
// at hand, it tokenizes as the files it was built from did and, for bert, gives the same logits;
// its metadata names no directory.
TEST(TextClassifier, CheckpointCarriesItsTokenizerAndEncoderAndNamesNoPath) {
  testing::TempDir dir;
  const text::BertTokenizer original(text::parse_vocabulary(small_vocabulary(), "vocab"),
                                     text::parse_bert_tokenizer_config(R"({"do_lower_case": true})", "config"));
  for (const std::string& encoder : kEncoders) {
    auto model = make(encoder, "attention");
    model->eval();
    const std::string path = dir.file(encoder + ".safetensors");
    io::save_module(path, *model, {}, model->metadata());
    const io::SafetensorsFile file = io::load_safetensors(path);
    for (const auto& [key, value] : file.metadata()) {
      EXPECT_EQ(key.find("directory"), std::string::npos) << key;
    }
    const auto loaded = load_text_classifier(file);
    const text::BertTokenizer tokenizer = classifier_tokenizer(loaded->config(), path);
    EXPECT_EQ(tokenizer.encode("A b zz [MASK]").ids, original.encode("A b zz [MASK]").ids) << encoder;
    NoGradGuard no_grad;
    const text::Encoding encoding = tokenizer.encode("a c e");
    EXPECT_EQ(loaded->forward({encoding}).logits.to_vector(), model->forward({encoding}).logits.to_vector()) << encoder;
  }
}

// A vocabulary that does not fit the model it is stored with is refused, never read as other ids.
TEST(TextClassifier, ATokenizerThatDoesNotFitTheModelIsRefused) {
  TextClassifierConfig gru = small("gru", "mean");
  gru.vocabulary_text = small_vocabulary(19);
  expect_error<ValueError>([&] { classifier_tokenizer(gru, "m.safetensors"); },
                           {"'m.safetensors': its vocabulary has 19 tokens, but the model embeds 20"});
  TextClassifierConfig bert = small("bert", "cls");
  bert.vocabulary_text = small_vocabulary(21);
  expect_error<ValueError>([&] { classifier_tokenizer(bert, "m.safetensors"); },
                           {"21 tokens, more than the 20 rows of its encoder's embedding"});
  TextClassifierConfig none = small("gru", "mean");
  none.vocabulary_text.clear();
  expect_error<ValueError>([&] { classifier_tokenizer(none, "m.safetensors"); }, {"holds no tokenizer"});
  none = small("gru", "mean");
  none.vocabulary_text = "a\n\nb\n";
  expect_error<ValueError>([&] { classifier_tokenizer(none, "m.safetensors"); },
                           {"m.safetensors: classify.vocab_txt: line 2 is empty"});
}

// An older checkpoint names the directories of its tokenizer and encoder: their files are read.
TEST(TextClassifier, AnOlderCheckpointReadsTheDirectoriesItNames) {
  testing::TempDir dir;
  const std::string folder = dir.file("model");
  std::filesystem::create_directory(folder);
  const auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(folder + "/" + name, std::ios::binary) << text;
  };
  write("vocab.txt", small_vocabulary());
  write("tokenizer_config.json", R"({"do_lower_case": false})");
  write("config.json", kTinyBertConfig);
  for (const std::string& encoder : kEncoders) {
    io::Metadata metadata = make(encoder, "mean")->metadata();
    for (const char* key : {"classify.vocab_txt", "classify.tokenizer_config_json", "classify.bert_config_json"}) {
      metadata.erase(key);
    }
    metadata["classify.tokenizer_directory"] = folder;
    metadata["classify.bert_directory"] = folder;
    const TextClassifierConfig c = text_classifier_config_of(metadata, "old.safetensors");
    EXPECT_EQ(c.vocabulary_text, small_vocabulary());
    EXPECT_EQ(c.tokenizer_config_text, R"({"do_lower_case": false})");
    EXPECT_EQ(c.bert_config_text, encoder == "bert" ? kTinyBertConfig : "");
    metadata["classify.tokenizer_directory"] = dir.file("gone");
    expect_error<ValueError>([&] { text_classifier_config_of(metadata, "old.safetensors"); }, {"does not exist"});
  }
}

// A bert classifier whose stored config.json claims a larger encoder than its tensors is refused
// before the encoder is allocated.
TEST(TextClassifier, BertCheckpointClaimingAHugeEncoderIsRefusedBeforeAllocating) {
  testing::TempDir dir;
  auto model = make("bert", "cls");
  io::Metadata metadata = model->metadata();
  metadata["classify.bert_config_json"] =
      R"({"vocab_size": 1000000, "hidden_size": 4096, "num_hidden_layers": 2, "num_attention_heads": 2,
          "intermediate_size": 16384, "max_position_embeddings": 16})";
  const std::string path = dir.file("bert.safetensors");
  io::save_module(path, *model, {}, metadata);
  expect_error<ValueError>([&] { load_text_classifier(io::load_safetensors(path)); },
                           {"does not hold the text classifier its metadata describes",
                            "'bert.embeddings.word_embeddings.weight' (1000000, 4096)"});
}

// attend quantize of a classifier over BERT (models/bert_gguf.h): the GGUF file's logits are the
// checkpoint's quantized at load, bit for bit, for every format; a classifier from scratch and a
// file of another kind are refused. The encoder is wide enough for blocks of 32 (hidden 32, FFN 64).
TEST(TextClassifier, QuantizedGgufClassifiesAsTheCheckpointQuantizedAtLoad) {
  testing::TempDir dir;
  constexpr char kBlockBert[] =
      R"({"model_type": "bert", "vocab_size": 20, "hidden_size": 32, "num_hidden_layers": 2,
          "num_attention_heads": 2, "intermediate_size": 64, "max_position_embeddings": 16})";
  TextClassifierConfig config = small("bert", "cls");
  config.bert_config_text = kBlockBert;
  Generator generator(5);
  auto bert = std::make_shared<BertModel<float>>(parse_bert_config(kBlockBert, "block bert"), generator);
  TextClassifier model(config, bert, generator);
  model.eval();
  const std::string checkpoint = dir.file("classifier.safetensors");
  io::save_module(checkpoint, model, {}, model.metadata());
  const std::vector<text::Encoding> encodings = {encoding_of({2, 7, 9, 3}), encoding_of({2, 5, 6, 7, 8, 3})};
  NoGradGuard no_grad;
  for (const quant::QuantFormat format :
       {quant::QuantFormat::q8_0, quant::QuantFormat::q4_0, quant::QuantFormat::q4_1}) {
    const std::string path = dir.file(std::string(quant::quant_format_name(format)) + ".gguf");
    write_text_classifier_gguf(checkpoint, format, path, false);
    ASSERT_TRUE(is_text_classifier_gguf_file(path));
    EXPECT_FALSE(is_bert_gguf_file(path));
    const std::unique_ptr<TextClassifier> from_file = load_text_classifier_file(path);
    const std::unique_ptr<TextClassifier> at_load = load_text_classifier(io::load_safetensors(checkpoint));
    at_load->quantize(format);
    at_load->eval();
    const std::vector<float> expected = at_load->forward(encodings).logits.to_vector();
    EXPECT_EQ(from_file->forward(encodings).logits.to_vector(), expected) << quant::quant_format_name(format);
    EXPECT_NE(model.forward(encodings).logits.to_vector(), expected);  // the blocks are not the floats
  }
  auto gru = make("gru", "attention");
  const std::string gru_path = dir.file("gru.safetensors");
  io::save_module(gru_path, *gru, {}, gru->metadata());
  expect_error<ValueError>(
      [&] { write_text_classifier_gguf(gru_path, quant::QuantFormat::q8_0, dir.file("gru.gguf"), false); },
      {"a classifier with a gru encoder from scratch"});
}

}  // namespace
}  // namespace attend::models
