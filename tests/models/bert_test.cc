// BertModel on a tiny random configuration (no pretrained files needed): its parameter table,
// finite differences in float64, float32 (fused attention) against float64, packing, the
// Hugging Face checkpoint loader on a file written the way transformers names things, and every
// refusal with its message.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <variant>
#include <vector>

#include "attend/attend.h"
#include "attend/io/safetensors.h"
#include "attend/models/bert_loader.h"
#include "attend/models/sentence_encoder.h"
#include "harness/expect_error.h"
#include "harness/module_gradcheck.h"
#include "harness/temp_dir.h"

namespace attend {
namespace {

using models::BertConfig;
using models::BertModel;
using models::PackedTokens;

BertConfig tiny_config() {
  BertConfig c;
  c.vocab_size = 11;
  c.hidden_size = 8;
  c.num_layers = 2;
  c.num_heads = 2;
  c.intermediate_size = 12;
  c.max_positions = 9;
  c.type_vocab_size = 2;
  c.layer_norm_eps = 1e-12;
  return c;
}

// Two sequences: 4 tokens (a pair: types 0 0 1 1) and 3 tokens.
PackedTokens tiny_tokens() {
  text::Encoding a, b;
  a.ids = {1, 5, 7, 2};
  a.token_type_ids = {0, 0, 1, 1};
  b.ids = {1, 10, 2};
  b.token_type_ids = {0, 0, 0};
  return models::pack_encodings({a, b});
}

const char* kTinyConfigJson = R"({"model_type": "bert", "vocab_size": 11, "hidden_size": 8, "num_hidden_layers": 2,
  "num_attention_heads": 2, "intermediate_size": 12, "max_position_embeddings": 9, "type_vocab_size": 2,
  "layer_norm_eps": 1e-12, "hidden_act": "gelu", "position_embedding_type": "absolute"})";

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(Bert, ParameterTableIsWhatTheModelRegisters) {
  for (const bool pooler : {true, false}) {
    BertConfig config = tiny_config();
    config.pooler = pooler;
    Generator generator(1);
    BertModel<float> model(config, generator);
    const io::TensorTable table = models::bert_parameter_table(config);
    const auto parameters = model.named_parameters();
    ASSERT_EQ(table.size(), parameters.size());
    for (size_t i = 0; i < table.size(); ++i) {
      EXPECT_EQ(table[i].name, parameters[i].first);
      EXPECT_EQ(table[i].shape, parameters[i].second.shape()) << table[i].name;
    }
  }
  EXPECT_EQ(models::bert_parameter_table(tiny_config())[0].name, "embeddings.word_embeddings.weight");
}

TEST(Bert, GradientsMatchFiniteDifferences) {
  Generator generator(2);
  BertModel<double> model(tiny_config(), generator);
  model.eval();
  const PackedTokens tokens = tiny_tokens();
  Generator projection_generator(3);
  const Tensor64 hidden_weights = Tensor64::randn({7, 8}, projection_generator);
  const Tensor64 pooled_weights = Tensor64::randn({2, 8}, projection_generator);
  const auto loss = [&] {
    const auto out = model.forward(tokens);
    return add(sum(mul(out.last_hidden_state, hidden_weights)), sum(mul(out.pooled, pooled_weights)));
  };
  const std::string mismatch = testing::check_parameter_gradients(model, loss, 1e-6, 24);
  EXPECT_EQ(mismatch, "");
}

TEST(Bert, Float32WithFusedAttentionMatchesFloat64) {
  Generator g32(4), g64(4);
  BertModel<float> model32(tiny_config(), g32);
  BertModel<double> model64(tiny_config(), g64);  // the same parameters, drawn in double
  model32.eval();
  model64.eval();
  const auto p32 = model32.named_parameters();
  const auto p64 = model64.named_parameters();
  {
    NoGradGuard no_grad;
    for (size_t i = 0; i < p32.size(); ++i) {
      const std::vector<double> values = p64[i].second.to_vector();
      Tensor32 target = p32[i].second;
      target.copy_from(Tensor32::from_vector(p64[i].second.shape(), std::vector<float>(values.begin(), values.end())));
    }
  }
  const auto a = model32.forward(tiny_tokens()).last_hidden_state.to_vector();
  const auto b = model64.forward(tiny_tokens()).last_hidden_state.to_vector();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 2e-5) << i;
}

TEST(Bert, ASequenceGivesTheSameBitsAloneOrPacked) {
  Generator generator(5);
  BertModel<float> model(tiny_config(), generator);
  model.eval();
  const PackedTokens both = tiny_tokens();
  text::Encoding second;
  second.ids = {1, 10, 2};
  second.token_type_ids = {0, 0, 0};
  const std::vector<float> packed = model.forward(both).last_hidden_state.to_vector();
  const std::vector<float> alone = model.forward(models::pack_encodings({second})).last_hidden_state.to_vector();
  ASSERT_EQ(alone.size(), 3u * 8);
  for (size_t i = 0; i < alone.size(); ++i) EXPECT_EQ(alone[i], packed[4 * 8 + i]) << i;
}

TEST(Bert, CaptureRecordsEachSequencesWeightsZeroPaddedAndChangesNothing) {
  Generator generator(10);
  BertModel<float> model(tiny_config(), generator);
  model.eval();
  const std::vector<float> plain = model.forward(tiny_tokens()).last_hidden_state.to_vector();
  AttentionCapture capture;
  EXPECT_EQ(model.forward(tiny_tokens()).last_hidden_state.to_vector(), plain);
  ASSERT_EQ(capture.records().size(), 2u);
  const AttentionRecord& record = capture.records()[1];
  EXPECT_EQ(record.name, "encoder.1.self");
  EXPECT_EQ(record.kind, AttentionKind::kEncoderSelf);
  EXPECT_EQ(record.layer, 1);
  ASSERT_EQ((std::vector<int64_t>{record.batch, record.heads, record.rows, record.cols}),
            (std::vector<int64_t>{2, 2, 4, 4}));
  for (int64_t b = 0; b < 2; ++b) {
    const int64_t n = b == 0 ? 4 : 3;
    for (int64_t h = 0; h < 2; ++h) {
      for (int64_t i = 0; i < 4; ++i) {
        double row_sum = 0;
        for (int64_t j = 0; j < 4; ++j) {
          if (i >= n || j >= n) {
            EXPECT_EQ(record.at(b, h, i, j), 0.0f);
          }
          row_sum += record.at(b, h, i, j);
        }
        EXPECT_NEAR(row_sum, i < n ? 1.0 : 0.0, 1e-6);
      }
    }
  }
}

TEST(Bert, RefusesTokensOutsideItsTables) {
  Generator generator(6);
  BertModel<float> model(tiny_config(), generator);
  text::Encoding e;
  e.ids = {1, 11, 2};
  e.token_type_ids = {0, 0, 0};
  expect_error<ValueError>([&] { model.forward(models::pack_encodings({e})); },
                           {"sequence 0 has token id 11, outside the vocabulary [0, 11)"});
  e.ids = {1, 3, 2};
  e.token_type_ids = {0, 2, 0};
  expect_error<ValueError>([&] { model.forward(models::pack_encodings({e})); }, {"token type 2"});
  e.ids = std::vector<int64_t>(10, 3);
  e.token_type_ids = std::vector<int64_t>(10, 0);
  expect_error<ValueError>([&] { model.forward(models::pack_encodings({e})); },
                           {"sequence 0 has 10 tokens, more than the model's 9 positions"});
  expect_error<ValueError>([&] { models::pack_encodings({text::Encoding{}}); }, {"encoding 0 has no tokens"});
}

// A directory as transformers saves a BertForMaskedLM: "bert." names, position_ids, a task head.
std::string save_hugging_face_directory(const testing::TempDir& dir, const BertModel<float>& model,
                                        const std::string& config_json = kTinyConfigJson) {
  io::NamedTensors tensors;
  for (const auto& [name, parameter] : model.named_parameters()) {
    std::string hf_name = "bert." + name;
    if (hf_name.ends_with("embeddings.LayerNorm.weight")) hf_name.replace(hf_name.size() - 6, 6, "gamma");
    tensors.emplace_back(hf_name, parameter.detach());
  }
  tensors.emplace_back("bert.embeddings.position_ids", IndexTensor::arange(9).reshape({1, 9}));
  tensors.emplace_back("cls.predictions.bias", Tensor32::zeros({11}));
  io::save_safetensors(dir.file("model.safetensors"), tensors, {{"format", "pt"}}, true);
  write_text(dir.file("config.json"), config_json);
  return dir.path().string();
}

TEST(BertLoader, LoadsHuggingFaceNamesAndGivesTheSameOutputs) {
  testing::TempDir dir;
  Generator generator(7);
  BertModel<float> original(tiny_config(), generator);
  original.eval();
  const auto loaded = models::load_bert_model(save_hugging_face_directory(dir, original));
  EXPECT_FALSE(loaded->is_training());
  EXPECT_TRUE(loaded->config().pooler);
  EXPECT_EQ(loaded->forward(tiny_tokens()).last_hidden_state.to_vector(),
            original.forward(tiny_tokens()).last_hidden_state.to_vector());
  EXPECT_EQ(loaded->forward(tiny_tokens()).pooled.to_vector(), original.forward(tiny_tokens()).pooled.to_vector());
}

// F64 weights (a model saved from float64 PyTorch) load rounded to F32: float32 values widened
// to F64 come back bit for bit.
TEST(BertLoader, LoadsFloat64WeightsRoundedToFloat32) {
  testing::TempDir dir;
  Generator generator(7);
  BertModel<float> original(tiny_config(), generator);
  original.eval();
  const std::string directory = save_hugging_face_directory(dir, original);
  io::NamedTensors doubles;
  const io::SafetensorsFile floats_file = io::load_safetensors(dir.file("model.safetensors"));
  for (const auto& [name, tensor] : floats_file.tensors()) {
    const auto* floats = std::get_if<Tensor32>(&tensor);
    doubles.emplace_back(name, floats ? io::AnyTensor(floats->cast<double>()) : tensor);
  }
  io::save_safetensors(dir.file("model.safetensors"), doubles, {}, true);
  const auto loaded = models::load_bert_model(directory);
  EXPECT_EQ(loaded->forward(tiny_tokens()).last_hidden_state.to_vector(),
            original.forward(tiny_tokens()).last_hidden_state.to_vector());
}

TEST(BertLoader, NamesWhatIsWrong) {
  testing::TempDir dir;
  Generator generator(8);
  BertModel<float> model(tiny_config(), generator);
  const std::string directory = save_hugging_face_directory(dir, model);

  // config.json disagrees with the tensors.
  std::string wider = kTinyConfigJson;
  wider.replace(wider.find("\"intermediate_size\": 12"), 23, "\"intermediate_size\": 16");
  write_text(dir.file("config.json"), wider);
  expect_error<ValueError>(
      [&] { models::load_bert_model(directory); },
      {"does not hold the model its config.json", "intermediate_size=16", "encoder.layer.0.intermediate.dense.weight"});

  // Unsupported architecture choices.
  std::string tanh_gelu = kTinyConfigJson;
  tanh_gelu.replace(tanh_gelu.find("\"gelu\""), 6, "\"gelu_new\"");
  write_text(dir.file("config.json"), tanh_gelu);
  expect_error<ValueError>([&] { models::load_bert_model(directory); }, {"config.json", "'hidden_act' = \"gelu_new\""});
  std::string odd_heads = kTinyConfigJson;
  odd_heads.replace(odd_heads.find("\"num_attention_heads\": 2"), 24, "\"num_attention_heads\": 3");
  write_text(dir.file("config.json"), odd_heads);
  expect_error<ValueError>([&] { models::load_bert_model(directory); }, {"num_attention_heads = 3 does not divide"});
  write_text(dir.file("config.json"), R"({"hidden_size": 8})");
  expect_error<ValueError>([&] { models::load_bert_model(directory); }, {"'vocab_size' is missing"});
  write_text(dir.file("config.json"), "{not json");
  expect_error<ValueError>([&] { models::load_bert_model(directory); }, {"config.json' is not valid JSON"});
  // Found by fuzzing: eps 0 divides a constant row's zero variance by zero (NaN out); a number
  // past double's range is the JSON library's out_of_range, still this file's clear message.
  std::string zero_eps = kTinyConfigJson;
  zero_eps.replace(zero_eps.find("1e-12"), 5, "0.0");
  write_text(dir.file("config.json"), zero_eps);
  expect_error<ValueError>([&] { models::load_bert_model(directory); },
                           {"'layer_norm_eps' = 0 is not a number in (0, 1]"});
  std::string huge_eps = kTinyConfigJson;
  huge_eps.replace(huge_eps.find("1e-12"), 5, "1e400");
  write_text(dir.file("config.json"), huge_eps);
  expect_error<ValueError>([&] { models::load_bert_model(directory); }, {"config.json' is not valid JSON", "1e400"});

  // An unknown tensor and a missing one.
  write_text(dir.file("config.json"), kTinyConfigJson);
  io::NamedTensors tensors;
  for (const auto& [name, parameter] : model.named_parameters()) {
    if (name != "encoder.layer.1.output.dense.bias") tensors.emplace_back(name, parameter.detach());
  }
  tensors.emplace_back("encoder.layer.0.attention.self.rotary", Tensor32::zeros({4}));
  io::save_safetensors(dir.file("model.safetensors"), tensors, {}, true);
  expect_error<ValueError>([&] { models::load_bert_model(directory); },
                           {"encoder.layer.1.output.dense.bias", "encoder.layer.0.attention.self.rotary"});

  // No weights at all.
  std::filesystem::remove(dir.file("model.safetensors"));
  expect_error<io::IoError>([&] { models::load_bert_model(directory); }, {"has no model.safetensors"});
}

// Without sentence_bert_config.json, tokenizer_config.json's model_max_length bounds the texts,
// as in sentence-transformers (before, it was ignored: texts ran to max_position_embeddings).
TEST(SentenceEncoder, TokenizerModelMaxLengthApplies) {
  testing::TempDir dir;
  Generator generator(7);
  BertModel<float> model(tiny_config(), generator);
  const std::string directory = save_hugging_face_directory(dir, model);
  std::vector<std::string> tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  for (int i = 0; i < 6; ++i) tokens.push_back("w" + std::to_string(i));  // 11 tokens, 11 embeddings
  std::string vocab;
  for (const std::string& token : tokens) vocab += token + "\n";
  write_text(dir.file("vocab.txt"), vocab);
  write_text(dir.file("tokenizer_config.json"), "{}");
  EXPECT_EQ(models::SentenceEncoder::from_directory(directory).config().max_length, 9);  // the positions
  write_text(dir.file("tokenizer_config.json"), R"({"model_max_length": 5})");
  const models::SentenceEncoder encoder = models::SentenceEncoder::from_directory(directory);
  EXPECT_EQ(encoder.config().max_length, 5);
  EXPECT_EQ(encoder.encode({"w0 w1 w2 w3 w4 w5"})[0].ids.size(), 5u);
  write_text(dir.file("tokenizer_config.json"), R"({"model_max_length": 1000000000000000019884624838656})");
  EXPECT_EQ(models::SentenceEncoder::from_directory(directory).config().max_length, 9);  // "no limit"
}

TEST(SentenceEncoder, PoolsEachSequence) {
  // hidden (5, 2): a sequence of 2 rows and one of 3.
  const auto hidden = Tensor64::from_vector({5, 2}, {1, 2, 3, 4, 0, -1, 5, 1, 1, 3});
  using models::SentencePooling;
  EXPECT_EQ(models::pool_sequences(hidden, {2, 3}, SentencePooling::kMean).to_vector(),
            (std::vector<double>{2, 3, 2, 1}));
  EXPECT_EQ(models::pool_sequences(hidden, {2, 3}, SentencePooling::kMax).to_vector(),
            (std::vector<double>{3, 4, 5, 3}));
  EXPECT_EQ(models::pool_sequences(hidden, {2, 3}, SentencePooling::kClassifierToken).to_vector(),
            (std::vector<double>{1, 2, 0, -1}));
  expect_error<ValueError>(
      [&] {
        models::pool_sequences(hidden, {2, 2}, SentencePooling::kMean);
      },
      {"the lengths sum to 4"});
  const auto unit = models::normalize_rows(Tensor64::from_vector({2, 2}, {3, 4, 0, 0})).to_vector();
  EXPECT_EQ(unit, (std::vector<double>{0.6, 0.8, 0, 0}));
}

TEST(SentenceEncoder, ReadsSentenceTransformersFilesAndRefusesAMismatchedVocabulary) {
  testing::TempDir dir;
  Generator generator(9);
  BertModel<float> model(tiny_config(), generator);
  save_hugging_face_directory(dir, model);
  write_text(dir.file("modules.json"),
             R"([{"type": "sentence_transformers.models.Transformer", "path": ""},
                 {"type": "sentence_transformers.models.Pooling", "path": "1_Pooling"},
                 {"type": "sentence_transformers.models.Normalize", "path": "2_Normalize"}])");
  std::filesystem::create_directory(dir / "1_Pooling");
  write_text(dir.file("1_Pooling/config.json"), R"({"pooling_mode_cls_token": true})");
  write_text(dir.file("sentence_bert_config.json"), R"({"max_seq_length": 6})");
  const auto config = models::load_sentence_encoder_config(dir.path().string(), tiny_config());
  EXPECT_EQ(config.pooling, models::SentencePooling::kClassifierToken);
  EXPECT_TRUE(config.normalize);
  EXPECT_EQ(config.max_length, 6);

  write_text(dir.file("sentence_bert_config.json"), R"({"max_seq_length": 10})");
  expect_error<ValueError>([&] { models::load_sentence_encoder_config(dir.path().string(), tiny_config()); },
                           {"'max_seq_length' = 10 is not an integer in [2, 9]"});
  write_text(dir.file("1_Pooling/config.json"),
             R"({"pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": true})");
  expect_error<ValueError>([&] { models::load_sentence_encoder_config(dir.path().string(), tiny_config()); },
                           {"exactly one of"});

  std::vector<std::string> tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  for (int i = 0; i < 7; ++i) tokens.push_back("w" + std::to_string(i));  // 12 tokens, 11 embeddings
  auto loaded = models::load_bert_model(dir.path().string());
  expect_error<ValueError>(
      [&] { models::SentenceEncoder(text::BertTokenizer(text::Vocabulary(tokens), {}), std::move(loaded), {}); },
      {"the vocabulary has 12 tokens for the model's 11 embeddings"});
  // A vocabulary far shorter than the table is another model's: refused, not read as [UNK]s.
  tokens.resize(7);
  loaded = models::load_bert_model(dir.path().string());
  expect_error<ValueError>(
      [&] { models::SentenceEncoder(text::BertTokenizer(text::Vocabulary(tokens), {}), std::move(loaded), {}); },
      {"the vocabulary has 7 tokens for the model's 11 embeddings", "at most 0 rows"});
}

}  // namespace
}  // namespace attend
