// all-MiniLM-L6-v2 against Hugging Face's own outputs (tests/golden/minilm_embeddings.jsonl, made
// by `bench/peers/run minilm-golden` with transformers and sentence-transformers in float32):
// the ids, the normalized sentence embeddings, the token-level last hidden state and the pooler;
// and a text's embedding bitwise the same with any thread count and, with BLIS's AVX-512 kernels, in any batch.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "attend/attend.h"
#include "attend/models/sentence_encoder.h"
#include "kernels/blas_kernels.h"

namespace attend {
namespace {

struct GoldenLine {
  std::string kind, text;
  std::vector<int64_t> ids;
  std::vector<double> embedding, pooler;
  std::vector<std::vector<double>> hidden;  // (tokens, E) for "tokens" lines
};

std::vector<GoldenLine> read_golden() {
  std::ifstream in(std::filesystem::path(ATTEND_GOLDEN_DIR) / "minilm_embeddings.jsonl");
  std::vector<GoldenLine> lines;
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j["kind"] == "header") continue;
    GoldenLine g;
    g.kind = j["kind"];
    g.text = j["text"];
    g.ids = j["ids"].get<std::vector<int64_t>>();
    if (g.kind == "sentence") g.embedding = j["embedding"].get<std::vector<double>>();
    if (g.kind == "tokens") {
      g.hidden = j["last_hidden_state"].get<std::vector<std::vector<double>>>();
      g.pooler = j["pooler_output"].get<std::vector<double>>();
    }
    lines.push_back(std::move(g));
  }
  return lines;
}

class MiniLM : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (text::default_minilm_directory().empty()) return;
    encoder_ = new models::SentenceEncoder(models::SentenceEncoder::from_directory(text::default_minilm_directory()));
  }
  static void TearDownTestSuite() { delete encoder_; }
  void SetUp() override {
    if (!encoder_) GTEST_SKIP() << "all-MiniLM-L6-v2 is not installed (scripts/setup installs it; then reconfigure)";
    golden_ = read_golden();
    ASSERT_GE(golden_.size(), 30u);
  }
  std::vector<std::string> sentence_texts() const {
    std::vector<std::string> texts;
    for (const auto& g : golden_) {
      if (g.kind == "sentence") texts.push_back(g.text);
    }
    return texts;
  }
  static models::SentenceEncoder* encoder_;
  std::vector<GoldenLine> golden_;
};
models::SentenceEncoder* MiniLM::encoder_ = nullptr;

TEST_F(MiniLM, SentenceEmbeddingsMatchSentenceTransformers) {
  const std::vector<std::string> texts = sentence_texts();
  const models::SentenceEmbeddings result = encoder_->embed(texts);
  const std::vector<float> ours = result.vectors.to_vector();
  const int64_t dim = encoder_->dimension();
  ASSERT_EQ(dim, 384);
  double worst = 0, lowest_cosine = 1;
  size_t s = 0;
  for (const auto& g : golden_) {
    if (g.kind != "sentence") continue;
    EXPECT_EQ(encoder_->encode({g.text})[0].ids, g.ids) << g.text;
    double dot = 0, norm_ours = 0, norm_theirs = 0;
    for (int64_t i = 0; i < dim; ++i) {
      const double a = ours[s * dim + i], b = g.embedding[i];
      worst = std::max(worst, std::abs(a - b));
      dot += a * b;
      norm_ours += a * a;
      norm_theirs += b * b;
    }
    lowest_cosine = std::min(lowest_cosine, dot / std::sqrt(norm_ours * norm_theirs));
    ++s;
  }
  // Measured: max |difference| 1.3e-7 (float32 rounding of a different summation order).
  std::printf("%zu sentences: max |difference| %.3g, lowest cosine %.9f\n", s, worst, lowest_cosine);
  EXPECT_LE(worst, 1e-6) << "over " << s << " sentences";
  EXPECT_GE(lowest_cosine, 0.99999);
  EXPECT_FALSE(result.truncated.empty()) << "the golden file has a text longer than max_seq_length 256";
}

TEST_F(MiniLM, TokenStatesAndPoolerMatchTransformers) {
  int checked = 0;
  for (const auto& g : golden_) {
    if (g.kind != "tokens") continue;
    text::Encoding encoding = encoder_->encode({g.text})[0];
    ASSERT_EQ(encoding.ids, g.ids);
    NoGradGuard no_grad;
    const auto out = encoder_->model().forward(models::pack_encodings({encoding}));
    const std::vector<float> hidden = out.last_hidden_state.to_vector(), pooled = out.pooled.to_vector();
    ASSERT_EQ(hidden.size(), g.hidden.size() * 384);
    double worst = 0;
    for (size_t t = 0; t < g.hidden.size(); ++t) {
      for (size_t i = 0; i < 384; ++i) worst = std::max(worst, std::abs(hidden[t * 384 + i] - g.hidden[t][i]));
    }
    std::printf("%zu tokens: max |difference| %.3g\n", g.hidden.size(), worst);
    EXPECT_LE(worst, 1e-5) << g.text;  // values of size ~1; measured a few 1e-7
    for (size_t i = 0; i < 384; ++i) EXPECT_NEAR(pooled[i], g.pooler[i], 1e-5) << g.text << " " << i;
    ++checked;
  }
  EXPECT_EQ(checked, 2);
}

TEST_F(MiniLM, AnEmbeddingIsTheSameBitsForAnyThreadCount) {
  const std::vector<std::string> texts = sentence_texts();
  const std::vector<float> two_threads = encoder_->embed(texts, 7).vectors.to_vector();
  ThreadCountGuard one_thread(1);
  EXPECT_EQ(encoder_->embed(texts, 7).vectors.to_vector(), two_threads);
}

// Batch composition changes no bit only where BLIS's kernels compute an element the same way
// whatever the product's shape (its AVX-512 "skx" kernels; README, Threads).
TEST_F(MiniLM, AnEmbeddingIsTheSameBitsInAnyBatch) {
  if (!kernels::blas_bits_independent_of_call_shape()) {
    GTEST_SKIP() << "BLIS runs " << kernels::blas_description()
                 << ": its kernels sum small products in another order, so a row's bits depend on the batch";
  }
  const std::vector<std::string> texts = sentence_texts();
  const std::vector<float> all_at_once = encoder_->embed(texts, 64).vectors.to_vector();
  EXPECT_EQ(encoder_->embed(texts, 1).vectors.to_vector(), all_at_once);
  EXPECT_EQ(encoder_->embed(texts, 7).vectors.to_vector(), all_at_once);
  ThreadCountGuard one_thread(1);
  EXPECT_EQ(encoder_->embed(texts, 5).vectors.to_vector(), all_at_once);
}

}  // namespace
}  // namespace attend
