// SmolLM2-135M-Instruct against Hugging Face transformers on the same GGUF file
// (tests/golden/smollm2, made by `bench/peers/run smollm2-golden`, float32): the last position's
// logits on 200 prompts (hand-written Unicode, code and chat markup, tweets, Markdown, C++, and
// a 2,000-token context), the whole logit vector of four of them, greedy continuations; and the
// decoder's own invariants: a prefill in pieces equals one prefill, sequences decoded together
// equal each decoded alone, 1 thread equals 2.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "attend/core/parallel.h"
#include "attend/decoder/llama_model.h"
#include "attend/decoder/perplexity.h"
#include "decoder/smollm2_goldens.h"
#include "harness/expect_error.h"
#include "attend/io/npy.h"

namespace attend::decoder {
namespace {

const LlamaModel* model() { return shipped_smollm2(WeightPrecision::float32); }

#define REQUIRE_MODEL() \
  if (model() == nullptr) GTEST_SKIP() << "no SmolLM2 GGUF (run scripts/setup)"

TEST(Smollm2Golden, LastLogitsOf200PromptsMatchTransformers) {
  REQUIRE_MODEL();
  const auto lines = read_golden_lines("logits.jsonl");
  const auto probe_ids = lines[0]["probe_ids"].get<std::vector<int64_t>>();
  double worst = 0;
  int prompts = 0, long_prompts = 0;
  for (size_t n = 1; n < lines.size(); ++n) {
    const auto& line = lines[n];
    SCOPED_TRACE(line["source"].get<std::string>() + ": " + line["text"].get<std::string>().substr(0, 60));
    const auto ids = line["ids"].get<std::vector<int32_t>>();
    const std::vector<float> logits = last_logits(*model(), ids);
    EXPECT_EQ(arg_max(logits), line["argmax"].get<int32_t>());
    for (size_t i = 0; i < probe_ids.size(); ++i) {
      worst = std::max(worst, std::abs(logits[probe_ids[i]] - line["probe"][i].get<double>()));
    }
    for (const auto& top : line["top"]) {
      worst = std::max(worst, std::abs(logits[top[0].get<int64_t>()] - top[1].get<double>()));
    }
    ++prompts;
    long_prompts += ids.size() >= 1500;
  }
  EXPECT_EQ(prompts, 200);
  EXPECT_EQ(long_prompts, 1);
  EXPECT_LE(worst, 1e-3) << "max |attend - transformers| over the top-10 and 128 probe logits";
  std::printf("max |logit difference| over %d prompts: %.3g\n", prompts, worst);
}

TEST(Smollm2Golden, WholeLogitVectorsMatchTransformers) {
  REQUIRE_MODEL();
  const Tensor<float> expected = io::load_npy(smollm2_golden("last_logits.npy").string());  // (4, V)
  const auto lines = read_golden_lines("logits.jsonl");
  const int64_t vocabulary = expected.shape()[1];
  for (int64_t p = 0; p < expected.shape()[0]; ++p) {
    const std::vector<float> logits = last_logits(*model(), lines[p + 1]["ids"].get<std::vector<int32_t>>());
    double worst = 0;
    for (int64_t i = 0; i < vocabulary; ++i)
      worst = std::max(worst, std::abs(double{logits[i]} - expected.data()[p * vocabulary + i]));
    EXPECT_LE(worst, 1e-3) << "prompt " << p;
    std::printf("prompt %lld: max |logit difference| over all %lld logits %.3g\n", static_cast<long long>(p),
                static_cast<long long>(vocabulary), worst);
  }
}

TEST(Smollm2Golden, GreedyContinuationsMatchTransformers) {
  REQUIRE_MODEL();
  const auto lines = read_golden_lines("greedy.jsonl");
  // 20 in the suite (about a minute); ATTEND_GREEDY_PROMPTS=100 runs every one (docs/decoder.md).
  const char* wanted = std::getenv("ATTEND_GREEDY_PROMPTS");
  const size_t count = std::min<size_t>(lines.size(), wanted ? std::strtoul(wanted, nullptr, 10) : 20);
  size_t equal = 0;
  // transformers was asked for exactly 64 new tokens (min_new_tokens), which masks the end of
  // sequence until then: so does this loop.
  const auto end_of_sequence = static_cast<size_t>(model()->file().integer("tokenizer.ggml.eos_token_id"));
  for (size_t n = 0; n < count; ++n) {
    const auto ids = lines[n]["ids"].get<std::vector<int32_t>>();
    const auto expected = lines[n]["continuation"].get<std::vector<int32_t>>();
    KvCache cache = model()->new_cache(static_cast<int64_t>(ids.size() + expected.size()));
    std::vector<float> logits = model()->forward(ids, cache).to_vector();
    std::vector<int32_t> continuation;
    for (size_t step = 0; step < expected.size(); ++step) {
      logits[end_of_sequence] = -std::numeric_limits<float>::infinity();  // generate's min_new_tokens = 64
      continuation.push_back(arg_max(logits));
      const int32_t token = continuation.back();
      logits = model()->forward(std::span<const int32_t>(&token, 1), cache).to_vector();
    }
    if (continuation == expected) {
      ++equal;
      continue;
    }
    const size_t where =
        std::mismatch(continuation.begin(), continuation.end(), expected.begin()).first - continuation.begin();
    const double margin = lines[n]["margins"][where].get<double>();
    std::printf("prompt %zu parts at step %zu: transformers' top-2 margin there %.3g\n", n, where, margin);
    EXPECT_LT(margin, 1e-2) << "prompt " << n << " parts at step " << where << " where transformers was not near a tie";
  }
  EXPECT_GE(equal * 100, count * 97) << equal << " of " << count << " continuations equal";
  std::printf("%zu of %zu greedy continuations of 64 tokens equal transformers'\n", equal, count);
}

TEST(Smollm2Decoder, PrefillInPiecesEqualsOnePrefill) {
  REQUIRE_MODEL();
  const std::vector<int32_t> ids{504, 3575, 282, 4649, 314, 1345, 28, 42, 9, 17, 1000, 2000};
  KvCache whole = model()->new_cache();
  const std::vector<float> once = model()->forward(ids, whole, true).to_vector();
  KvCache pieces = model()->new_cache(1);  // grows twice on the way
  std::vector<float> stepwise;
  for (size_t start : {0, 5, 6}) {
    const size_t end = start == 0 ? 5 : start == 5 ? 6 : ids.size();
    const auto part = model()->forward(std::span(ids).subspan(start, end - start), pieces, true).to_vector();
    stepwise.insert(stepwise.end(), part.begin(), part.end());
  }
  ASSERT_EQ(once.size(), stepwise.size());
  double worst = 0;
  for (size_t i = 0; i < once.size(); ++i) worst = std::max(worst, std::abs(double{once[i]} - stepwise[i]));
  EXPECT_LE(worst, 1e-4);
  EXPECT_EQ(pieces.length(), static_cast<int64_t>(ids.size()));
}

TEST(Smollm2Decoder, BatchedDecodeEqualsEachSequenceAloneAndThreadCountsAgree) {
  REQUIRE_MODEL();
  const std::vector<std::vector<int32_t>> prompts{{504, 3575, 282}, {42, 9, 17, 1000, 2000, 7, 8}, {1}};
  const auto decode_alone = [&](int threads) {
    ThreadCountGuard guard(threads);
    std::vector<std::vector<float>> results;
    for (const auto& prompt : prompts) {
      KvCache cache = model()->new_cache();
      model()->forward(prompt, cache);
      const int32_t next = 1234;
      results.push_back(model()->forward(std::span<const int32_t>(&next, 1), cache).to_vector());
    }
    return results;
  };
  std::vector<KvCache> caches;
  for (const auto& prompt : prompts) {
    caches.push_back(model()->new_cache());
    model()->forward(prompt, caches.back());
  }
  const int32_t next = 1234;
  std::vector<Segment> segments;
  for (auto& cache : caches) segments.push_back({std::span<const int32_t>(&next, 1), &cache});
  const Tensor<float> batched = model()->forward(segments);  // (3, V)
  const auto alone = decode_alone(1);
  EXPECT_EQ(decode_alone(2), alone);
  // A decode step reads its weights row by row (kernels/matvec.h) and attends per sequence: a
  // sequence's logits are the same bits alone or in a batch.
  const int64_t vocabulary = batched.shape()[1];
  for (size_t s = 0; s < prompts.size(); ++s) {
    const std::vector<float> row(batched.data() + s * vocabulary, batched.data() + (s + 1) * vocabulary);
    EXPECT_EQ(row, alone[s]) << "sequence " << s;
  }
}

// Past 1,024 cached positions a decode step goes to the split-K decode kernel, reading the cache
// in place: its logits agree with those of one prefill over the same tokens.
TEST(Smollm2Decoder, LongCacheDecodeMatchesAPrefill) {
  REQUIRE_MODEL();
  std::vector<int32_t> ids;
  for (int32_t i = 0; i < 1100; ++i) ids.push_back(1000 + (i * 7919) % 40000);
  KvCache whole = model()->new_cache();
  const std::vector<float> prefill = model()->forward(ids, whole).to_vector();
  KvCache stepwise = model()->new_cache();
  model()->forward(std::span(ids).first(ids.size() - 1), stepwise);
  const std::vector<float> decoded = model()->forward(std::span(ids).last(1), stepwise).to_vector();
  double worst = 0;
  for (size_t i = 0; i < prefill.size(); ++i) worst = std::max(worst, std::abs(double{prefill[i]} - decoded[i]));
  EXPECT_LE(worst, 1e-3);
}

TEST(Smollm2Decoder, RefusesBadTokensEmptySegmentsAndAFullContext) {
  REQUIRE_MODEL();
  KvCache cache = model()->new_cache();
  const std::vector<int32_t> bad{1, 49152};
  EXPECT_THROW(model()->forward(bad, cache), ValueError);
  EXPECT_THROW(model()->forward(std::span<const int32_t>(), cache), ValueError);
  EXPECT_EQ(cache.length(), 0);
  std::vector<int32_t> too_long(static_cast<size_t>(model()->config().context_length + 1), 1);
  EXPECT_THROW(model()->forward(too_long, cache), ValueError);
}

}  // namespace
}  // namespace attend::decoder

namespace attend::decoder {
namespace {

// The perplexity of the Apache-2.0 licence text (Debian's base-files) with two window settings,
// against the same sliding-window sum on transformers' logits.
TEST(Smollm2Golden, PerplexityOfARealTextMatchesTransformers) {
  REQUIRE_MODEL();
  std::ifstream in(smollm2_golden("perplexity.json"));
  const auto expected = nlohmann::json::parse(in);
  const auto ids = expected["ids"].get<std::vector<int32_t>>();
  for (const auto& c : expected["cases"]) {
    const PerplexityOptions options{c["context"].get<int64_t>(), c["stride"].get<int64_t>()};
    const PerplexityResult result = perplexity(*model(), ids, options);
    EXPECT_EQ(result.scored_tokens, c["scored_tokens"].get<int64_t>());
    EXPECT_EQ(result.windows, c["windows"].get<int64_t>());
    const double reference = c["perplexity"].get<double>();
    EXPECT_NEAR(result.perplexity, reference, 1e-3 * reference) << "context " << options.context;
    std::printf("context %lld stride %lld: perplexity %.6f, transformers %.6f (relative difference %.2g)\n",
                static_cast<long long>(options.context), static_cast<long long>(options.stride), result.perplexity,
                reference, std::abs(result.perplexity / reference - 1));
  }
  expect_error<ValueError>([&] { perplexity(*model(), std::span(ids).first(1), {}); }, {"at least 2 are needed"});
  expect_error<ValueError>([&] { perplexity(*model(), ids, {512, 0}); }, {"stride must be in [1, context = 512]"});
  expect_error<ValueError>([&] { perplexity(*model(), ids, {1, 1}); }, {"the context must be in [2, 8192]"});
}

}  // namespace
}  // namespace attend::decoder
