// all-MiniLM-L6-v2 with its encoder projections quantized (BertModel::quantize): sentence
// embeddings against sentence-transformers' float32 outputs (tests/golden/minilm_embeddings.jsonl)
// and against attend's own float32 run; a text's vector the same bits in any batch and at any
// thread count; a quantized layer refuses training.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "attend/core/parallel.h"
#include "attend/decoder/llama_model.h"
#include "attend/io/atomic_file.h"
#include "attend/models/bert_gguf.h"
#include "attend/models/sentence_encoder.h"
#include "attend/text/bert_tokenizer.h"
#include "harness/expect_error.h"
#include "harness/temp_dir.h"

namespace attend {
namespace {

struct Golden {
  std::vector<std::string> texts;
  std::vector<std::vector<double>> embeddings;  // sentence-transformers', normalized
};

Golden read_golden() {
  std::ifstream in(std::filesystem::path(ATTEND_GOLDEN_DIR) / "minilm_embeddings.jsonl");
  Golden golden;
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j["kind"] != "sentence") continue;
    golden.texts.push_back(j["text"]);
    golden.embeddings.push_back(j["embedding"].get<std::vector<double>>());
  }
  return golden;
}

double cosine(const float* a, const std::vector<double>& b) {
  double dot = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < b.size(); ++i) dot += a[i] * b[i], aa += double{a[i]} * a[i], bb += b[i] * b[i];
  return dot / std::sqrt(aa * bb);
}

struct Agreement {
  double mean = 0, least = 1;
};

Agreement agreement(const Tensor<float>& vectors, const std::vector<std::vector<double>>& reference) {
  Agreement a;
  const int64_t width = vectors.shape()[1];
  for (size_t n = 0; n < reference.size(); ++n) {
    const double c = cosine(vectors.data() + n * width, reference[n]);
    a.mean += c / static_cast<double>(reference.size()), a.least = std::min(a.least, c);
  }
  return a;
}

std::unique_ptr<models::SentenceEncoder> load(const char* format) {
  auto encoder = std::make_unique<models::SentenceEncoder>(
      models::SentenceEncoder::from_directory(text::default_minilm_directory()));
  if (format != nullptr) encoder->model().quantize(quant::parse_quant_format(format));
  return encoder;
}

#define REQUIRE_MINILM()                        \
  if (text::default_minilm_directory().empty()) \
  GTEST_SKIP() << "all-MiniLM-L6-v2 is not installed (scripts/setup installs it; then reconfigure)"

TEST(MiniLMQuantized, Q8_0EmbeddingsStayWithFloat32) {
  REQUIRE_MINILM();
  const Golden golden = read_golden();
  ASSERT_GE(golden.texts.size(), 30u);
  const auto float32 = load(nullptr);
  const Tensor<float> reference = float32->embed(golden.texts).vectors;
  std::vector<std::vector<double>> attend_float32;
  for (int64_t n = 0; n < reference.shape()[0]; ++n) {
    attend_float32.emplace_back(reference.data() + n * reference.shape()[1],
                                reference.data() + (n + 1) * reference.shape()[1]);
  }
  for (const char* format : {"q8_0", "q4_1"}) {
    const Tensor<float> vectors = load(format)->embed(golden.texts).vectors;
    const Agreement to_hugging_face = agreement(vectors, golden.embeddings),
                    to_float32 = agreement(vectors, attend_float32);
    std::printf(
        "%s over %zu texts: cosine to sentence-transformers mean %.5f, least %.5f; to attend float32 mean %.5f, "
        "least %.5f\n",
        format, golden.texts.size(), to_hugging_face.mean, to_hugging_face.least, to_float32.mean, to_float32.least);
    if (std::string(format) == "q8_0") {  // issue #32's bar; Q4_1 is shown, not held to it
      EXPECT_GE(to_hugging_face.mean, 0.999);
      EXPECT_GE(to_hugging_face.least, 0.995);
      EXPECT_GE(to_float32.mean, 0.999);
    } else {
      EXPECT_GE(to_float32.mean, 0.9);
    }
  }
}

TEST(MiniLMQuantized, AVectorIsTheSameBitsInAnyBatchAndAtAnyThreadCount) {
  REQUIRE_MINILM();
  const auto encoder = load("q8_0");
  const std::vector<std::string> texts{"a short one", "The quick brown fox jumps over the lazy dog.",
                                       "Quantized weights, exact integer sums.", "x"};
  std::vector<float> together, two_threads;
  {
    ThreadCountGuard guard(1);
    together = encoder->embed(texts).vectors.to_vector();
  }
  {
    ThreadCountGuard guard(2);
    two_threads = encoder->embed(texts, 3).vectors.to_vector();
  }
  EXPECT_EQ(together, two_threads);
  const int64_t width = encoder->dimension();
  for (size_t n = 0; n < texts.size(); ++n) {
    const std::vector<float> alone = encoder->embed({texts[n]}).vectors.to_vector();
    EXPECT_EQ(alone, std::vector<float>(together.begin() + n * width, together.begin() + (n + 1) * width)) << n;
  }
}

// `attend quantize`'s file (models/bert_gguf.h) gives the directory's encoder with --weights of
// its format, bit for bit, in a file smaller than the float32 weights; a decoder's GGUF, a file
// that exists and a second quantization are refused with clear messages.
TEST(MiniLMQuantized, GgufFileEqualsQuantizingAtLoad) {
  REQUIRE_MINILM();
  testing::TempDir directory;
  const Golden golden = read_golden();
  const std::vector<std::string> texts(golden.texts.begin(), golden.texts.begin() + 8);
  for (const char* format : {"q8_0", "q4_1"}) {
    const std::string path = (directory.path() / (std::string(format) + ".gguf")).string();
    models::write_bert_gguf(text::default_minilm_directory(), quant::parse_quant_format(format), path, false);
    EXPECT_LT(
        std::filesystem::file_size(path),
        std::filesystem::file_size(std::filesystem::path(text::default_minilm_directory()) / "model.safetensors"));
    ASSERT_TRUE(models::is_gguf_file(path));
    models::SentenceEncoder from_file = models::load_sentence_encoder(path);
    EXPECT_EQ(from_file.embed(texts).vectors.to_vector(), load(format)->embed(texts).vectors.to_vector()) << format;
    EXPECT_EQ(from_file.config().max_length, load(nullptr)->config().max_length);
    expect_error<io::IoError>(
        [&] {
          models::write_bert_gguf(text::default_minilm_directory(), quant::parse_quant_format(format), path, false);
        },
        {"refusing to overwrite the existing file"});
  }
  {  // a file whose attend.weights says another format than its blocks' is refused, not requantized
    const std::string lying = directory.file("lying.gguf");
    std::ifstream in((directory.path() / "q8_0.gguf").string(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    const size_t key = bytes.find("attend.weights");
    ASSERT_NE(key, std::string::npos);
    bytes.replace(bytes.find("q8_0", key), 4, "q4_0");
    std::ofstream(lying, std::ios::binary) << bytes;
    expect_error<ValueError>([&] { models::load_sentence_encoder(lying); },
                             {"is Q8_0 but the file's attend.weights says q4_0"});
  }
  expect_error<io::IoError>(
      [&] {
        models::write_bert_gguf(directory.path().string(), quant::QuantFormat::q8_0,
                                (directory.path() / "x.gguf").string(), false);
      },
      {"is not a BERT model directory: it has no config.json"});
  const std::string decoder = decoder::default_model_path();
  if (!decoder.empty() && std::filesystem::exists(decoder)) {
    expect_error<ValueError>([&] { models::load_sentence_encoder_gguf(decoder); },
                             {"is not a BERT encoder written by `attend quantize`"});
  }
}

TEST(MiniLMQuantized, RefusesTraining) {
  REQUIRE_MINILM();
  const auto encoder = load("q8_0");
  encoder->model().train();
  expect_error<ValueError>([&] { encoder->embed({"hello"}); }, {"quantized", "inference only"});
}

}  // namespace
}  // namespace attend
