// SmolLM2-135M-Instruct on its weights as stored (Q4_1 and Q8_0 multiplied as they are, int8
// activations): against llama.cpp's quantized arithmetic on the same file and prompts
// (tests/golden/smollm2/llama_cpp_logits.jsonl, `bench/peers/run llama-cpp-golden`), against
// transformers' float32 run (what quantization costs: arg-max agreement and perplexity), and
// the decoder's invariants on the quantized kernels: a sequence's logits are the same bits alone
// or in a batch, at 1 or 2 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "attend/core/parallel.h"
#include "attend/decoder/llama_model.h"
#include "attend/decoder/perplexity.h"
#include "decoder/smollm2_goldens.h"

namespace attend::decoder {
namespace {

const LlamaModel* model() { return shipped_smollm2(WeightPrecision::stored); }

#define REQUIRE_MODEL() \
  if (model() == nullptr) GTEST_SKIP() << "no SmolLM2 GGUF (run scripts/setup)"

TEST(Smollm2Quantized, LoadsTheFileAsStored) {
  REQUIRE_MODEL();
  const LlamaWeights& w = model()->weights();
  EXPECT_EQ(w.layers[0].qkv.description(), "q4_1");
  EXPECT_EQ(w.layers[0].qkv.rows(), 576 + 2 * 192);
  EXPECT_EQ(w.layers[0].gate_up.rows(), 2 * 1536);
  EXPECT_EQ(w.output.description(), "q8_0");  // the tied embedding
}

// The same prompts through llama.cpp on the same file (its KV cache in float32): the weights'
// and activations' quantization is the same scheme, but not the same float arithmetic (its
// activation scales are rounded to half floats, its sums run in another order).
TEST(Smollm2Quantized, LastLogitsAgreeWithLlamaCpp) {
  REQUIRE_MODEL();
  const auto prompts = read_golden_lines("logits.jsonl");
  const auto reference = read_golden_lines("llama_cpp_logits.jsonl");
  ASSERT_EQ(prompts.size(), reference.size());
  const auto probe_ids = reference[0]["probe_ids"].get<std::vector<int64_t>>();
  double worst = 0, total = 0, from_float32 = 0, llama_cpp_from_float32 = 0;
  int count = 0, same_arg_max = 0, same_as_transformers = 0;
  for (size_t n = 1; n < prompts.size(); ++n) {
    const std::vector<float> logits = last_logits(*model(), prompts[n]["ids"].get<std::vector<int32_t>>());
    const auto& expected = reference[n];
    for (size_t i = 0; i < probe_ids.size(); ++i) {
      const double difference = std::abs(logits[probe_ids[i]] - expected["probe"][i].get<double>());
      worst = std::max(worst, difference), total += difference, ++count;
      const double float32 = prompts[n]["probe"][i].get<double>();
      from_float32 += std::abs(logits[probe_ids[i]] - float32);
      llama_cpp_from_float32 += std::abs(expected["probe"][i].get<double>() - float32);
    }
    for (const auto& top : expected["top"]) {
      worst = std::max(worst, std::abs(logits[top[0].get<int64_t>()] - top[1].get<double>()));
    }
    same_arg_max += arg_max(logits) == expected["argmax"].get<int32_t>();
    same_as_transformers += arg_max(logits) == prompts[n]["argmax"].get<int32_t>();
  }
  const int total_prompts = static_cast<int>(prompts.size()) - 1;
  std::printf(
      "attend Q4_1 vs llama.cpp Q4_1 over %d prompts: max |logit difference| %.3g (mean over probes %.3g), "
      "same arg-max %d; vs transformers float32: mean |difference| %.3g (llama.cpp's %.3g), same arg-max %d\n",
      total_prompts, worst, total / count, same_arg_max, from_float32 / count, llama_cpp_from_float32 / count,
      same_as_transformers);
  // Two quantized runs part by their own rounding, each about as far from float32 as from the other.
  EXPECT_GE(same_arg_max, total_prompts * 93 / 100);
  EXPECT_LE(worst, 2.0);
  EXPECT_LE(total / count, 0.25);
  EXPECT_GE(same_as_transformers, total_prompts * 93 / 100);
  EXPECT_LE(from_float32, 1.1 * llama_cpp_from_float32)
      << "attend's quantized arithmetic strays further than llama.cpp's";
}

// What the quantization costs: the perplexity of the Apache-2.0 licence text against
// transformers' float32 run (tests/golden/smollm2/perplexity.json).
TEST(Smollm2Quantized, PerplexityStaysCloseToFloat32) {
  REQUIRE_MODEL();
  std::ifstream in(smollm2_golden("perplexity.json"));
  const auto expected = nlohmann::json::parse(in);
  const auto ids = expected["ids"].get<std::vector<int32_t>>();
  const auto& c = expected["cases"][0];
  const PerplexityOptions options{c["context"].get<int64_t>(), c["stride"].get<int64_t>()};
  const double quantized = perplexity(*model(), ids, options).perplexity;
  const double float32 = c["perplexity"].get<double>();
  std::printf("context %lld: perplexity Q4_1 %.4f, float32 (transformers) %.4f: %+.2f%%\n",
              static_cast<long long>(options.context), quantized, float32, 100 * (quantized / float32 - 1));
  EXPECT_LT(std::abs(quantized / float32 - 1), 0.02);
}

TEST(Smollm2Quantized, BatchedDecodeEqualsEachSequenceAloneAndThreadCountsAgree) {
  REQUIRE_MODEL();
  const std::vector<std::vector<int32_t>> prompts{{504, 3575, 282}, {42, 9, 17, 1000, 2000, 7, 8}, {1}};
  const int32_t next = 1234;
  const auto decode_alone = [&](int threads) {
    ThreadCountGuard guard(threads);
    std::vector<std::vector<float>> results;
    for (const auto& prompt : prompts) {
      KvCache cache = model()->new_cache();
      model()->forward(prompt, cache);
      results.push_back(model()->forward(std::span<const int32_t>(&next, 1), cache).to_vector());
    }
    return results;
  };
  std::vector<KvCache> caches;
  for (const auto& prompt : prompts) {
    caches.push_back(model()->new_cache());
    model()->forward(prompt, caches.back());
  }
  std::vector<Segment> segments;
  for (auto& cache : caches) segments.push_back({std::span<const int32_t>(&next, 1), &cache});
  const Tensor<float> batched = model()->forward(segments);  // (3, V)
  const auto alone = decode_alone(1);
  EXPECT_EQ(decode_alone(2), alone);
  const int64_t vocabulary = batched.shape()[1];
  for (size_t s = 0; s < prompts.size(); ++s) {
    const std::vector<float> row(batched.data() + s * vocabulary, batched.data() + (s + 1) * vocabulary);
    EXPECT_EQ(row, alone[s]) << "sequence " << s;
  }
  // A prompt's prefill (four rows and more: codes widened a chunk at a time) gives each row the
  // bits it gets alone.
  KvCache whole = model()->new_cache();
  const std::vector<float> all = model()->forward(prompts[1], whole, true).to_vector();
  KvCache stepwise = model()->new_cache();
  for (size_t t = 0; t < prompts[1].size(); ++t) {
    const std::vector<float> row = model()->forward(std::span(prompts[1]).subspan(t, 1), stepwise).to_vector();
    EXPECT_EQ(row, std::vector<float>(all.begin() + t * vocabulary, all.begin() + (t + 1) * vocabulary)) << t;
  }
}

}  // namespace
}  // namespace attend::decoder
