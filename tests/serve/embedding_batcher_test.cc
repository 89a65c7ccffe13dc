// The embedding batcher on MiniLM: requests submitted from many threads at once, packed into
// shared forward passes (and split over several when larger than a pass), get the same bits as
// SentenceEncoder::embed gives each alone.
#include <gtest/gtest.h>

#include <thread>

#include "attend/serve/embedding_batcher.h"
#include "attend/text/bert_tokenizer.h"

namespace attend::serve {
namespace {

TEST(EmbeddingBatcher, ConcurrentRequestsGetTheirOwnBitsInSharedBatches) {
  if (text::default_minilm_directory().empty()) GTEST_SKIP() << "no all-MiniLM-L6-v2 (run scripts/setup)";
  models::SentenceEncoder encoder = models::SentenceEncoder::from_directory(text::default_minilm_directory());
  std::vector<std::vector<std::string>> requests;
  for (int r = 0; r < 12; ++r) {
    std::vector<std::string> texts;
    for (int t = 0; t <= r % 5; ++t) {
      texts.push_back(fmt::format("request {} text {}: {}", r, t, std::string(static_cast<size_t>(r * 7 + t), 'x')));
    }
    requests.push_back(texts);
  }
  std::vector<std::vector<float>> alone;
  for (const auto& texts : requests) alone.push_back(encoder.embed(texts, 1).vectors.to_vector());
  Metrics metrics;
  std::mutex compute;
  EmbeddingBatcherOptions options;
  options.max_batch_tokens = encoder.config().max_length;  // small: requests share and split passes
  options.max_wait = std::chrono::microseconds(5000);
  std::vector<std::vector<float>> batched(requests.size());
  {
    EmbeddingBatcher batcher(encoder, compute, metrics, options);
    std::vector<std::thread> clients;
    for (size_t r = 0; r < requests.size(); ++r) {
      clients.emplace_back([&, r] { batched[r] = batcher.submit(encoder.encode(requests[r])).get(); });
    }
    for (std::thread& t : clients) t.join();
  }
  for (size_t r = 0; r < requests.size(); ++r) EXPECT_EQ(batched[r], alone[r]) << "request " << r;
  // Fewer forward passes than requests: they shared them.
  const std::string text = metrics.render();
  const std::string key = "attend_embedding_batch_inputs_count ";
  const size_t at = text.find(key);
  ASSERT_NE(at, std::string::npos) << text;
  EXPECT_LT(std::stoul(text.substr(at + key.size())), requests.size()) << text;
}

TEST(EmbeddingBatcher, RefusesAPassSmallerThanTheLongestInput) {
  if (text::default_minilm_directory().empty()) GTEST_SKIP() << "no all-MiniLM-L6-v2 (run scripts/setup)";
  models::SentenceEncoder encoder = models::SentenceEncoder::from_directory(text::default_minilm_directory());
  Metrics metrics;
  std::mutex compute;
  EmbeddingBatcherOptions options;
  options.max_batch_tokens = 16;
  EXPECT_THROW(EmbeddingBatcher(encoder, compute, metrics, options), ValueError);
}

}  // namespace
}  // namespace attend::serve
